"""Evaluation that needs no download: a small classifier per dataset, classifier-FID/KID on its
penultimate features (always beside the real-vs-real floor at the same N), and class accuracy.

    classifier.py  the CNN, `save_classifier` / `load_classifier` (safetensors + JSON metadata)
    training.py    `train_classifier` (AdamW, one-cycle, affine augmentation)
    metrics.py     `frechet_distance`, `kernel_inception_distance`, `class_accuracy`, features
    evaluate.py    `evaluate_samples` → `EvalResult`, the floor definition
"""

from .classifier import Classifier, ClassifierConfig, load_classifier, save_classifier
from .evaluate import EvalResult, evaluate_samples
from .metrics import (
    KernelDistance,
    class_accuracy,
    classifier_features,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
    mmd2_unbiased,
    polynomial_kernel,
    predict_logits,
)
from .training import AugmentConfig, ClassifierReport, random_affine, train_classifier

__all__ = [
    "AugmentConfig", "Classifier", "ClassifierConfig", "ClassifierReport", "EvalResult", "KernelDistance",
    "class_accuracy", "classifier_features", "evaluate_samples", "frechet_distance", "frechet_distance_from_stats",
    "kernel_inception_distance", "load_classifier", "mmd2_unbiased", "polynomial_kernel", "predict_logits",
    "random_affine", "save_classifier", "train_classifier",
]

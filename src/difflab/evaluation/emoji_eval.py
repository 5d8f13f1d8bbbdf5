"""Measuring the emoji model (issue 16 §6) with a difflab emoji classifier.

Classifier: the package's small CNN (`Classifier`) with 3 input channels, trained here on the
emoji dataset with affine jitter (shift ±2 px, rotation ±10°, scale ±10 %). It reads *ink*
images, ink = (1 − x)/2 for x in [-1, 1]: the white paper becomes 0, so the jitter's zero padding
is paper too. There is one rendering per emoji, so its held-out "test" set is other jitters of the
same glyphs: it measures robustness to placement, not generalisation to new drawings.

Measurements (every sample: the course's 990 → 0 by 30 grid, DDPM steps, CFG γ = 7):

* prompt accuracy: `per_prompt` samples for each of the 50 `EVAL_CHARS`, prompted by the emoji's
  name, classified as that emoji;
* classifier-FID of those samples against as many jittered real renderings of the same emoji,
  beside its floor: two independent jitterings of the real images (same N);
* anagrams: `ANAGRAM_PAIRS` under flip, rot180 and negate, a seed counts when both views are
  classified as their prompts;
* hybrids: the same pairs (far, near): a seed counts when the far view (the image at half size,
  as the tour shows it from afar, scaled back to 32 px) is classified as the far prompt and the near
  view (its high band on white paper, what the hybrid adds up close) as the near one. The classifier
  learns both forms of every emoji: it trains on jittered renderings and on their near views.
  The hybrid and its near view use the model's hybrid blur (`hybrid_blur`: σ = 2 on the emoji model).
  Checked on ideal hybrids built from the renderings themselves (low band of one emoji plus high
  band of another): the whole image is recognised as the near prompt in 0 % of them (the low band
  dominates it), which is why the near view is the high band (`test_emoji.py` keeps ideal hybrids
  passing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..emoji_data import EmojiDataset, load_emoji
from ..filters import downsample
from ..guidance import GuidedDenoiser
from ..illusions.anagrams import MultiViewDenoiser, view_clean
from ..illusions.hybrids import FactorizedDenoiser, factorization, hybrid_blur
from ..models.emoji import HYBRID_BLUR
from ..illusions.views import get_view
from ..paths import strided_timesteps
from ..sampling import NoiseSource, sample_loop
from .classifier import Classifier
from .metrics import class_accuracy, classifier_features, frechet_distance, predict_logits
from .training import AugmentConfig, random_affine, train_classifier

EVAL_CHARS = tuple("🔥💀🚀🐶🤠🎩🌊🌋😀💩👻👽🤖🎅🐱🐰🦊🐼🐯🦁🐷🐸🐧🦉🦄🐝🦋🐞🐢🐙🦀🐳🦒🌵🎄🌴🍄🌹🌻🍎🍌🍉🍓🍕🍔🚗🚲🏠🌈🌍")
ANAGRAM_PAIRS = (("skull", "rocket"), ("dog face", "fire"), ("cat face", "christmas tree"), ("red apple", "pizza"),
                 ("ghost", "banana"), ("rainbow", "snowman"), ("penguin", "strawberry"), ("octopus", "house"))
ANAGRAM_VIEWS = ("flip", "rot180", "negate")
JITTER = AugmentConfig(shift_px=2.0, rotate_deg=10.0, scale=0.1)
ILLUSION_SEEDS = 8  # seeds per pair and view: 64 images per rate, ±6 points at 30 % (4 seeds: 28 vs 33 % on one model)
FAR = 2  # the far view: area-averaged to 1/2 size, as the tour's "from afar" figure


def far_view(x: Tensor) -> Tensor:
    """The image as seen from afar: 1/FAR size, scaled back up for the classifier."""
    return F.interpolate(downsample(x, FAR), size=x.shape[-2:], mode="bilinear", align_corners=False)


def near_view(x: Tensor, blur: tuple[int, float] = HYBRID_BLUR) -> Tensor:
    """What a hybrid adds up close: its high band (x minus the hybrid's low-pass) on white paper."""
    _, high, _ = factorization("lowpass", tuple(x.shape[1:]), *blur)
    return (high(x) + 1).clamp(-1, 1)


def ink(x: Tensor) -> Tensor:
    """Images in [-1, 1] (white paper = 1) → the classifier's input, paper = 0."""
    return ((1 - x) / 2).clamp(0, 1)


@dataclass
class _Split:
    images: Tensor
    labels: Tensor
    class_names: tuple[str, ...]
    name: str = "emoji"


def jittered(data: EmojiDataset, copies: int, seed: int) -> _Split:
    """`copies` randomly jittered ink images of every emoji (test sets; training jitters on the fly)."""
    images = ink(data.images).repeat(copies, 1, 1, 1)
    labels = data.labels.repeat(copies)
    images = random_affine(images, JITTER, torch.Generator().manual_seed(seed))
    return _Split(images, labels, data.class_names)


def train_emoji_classifier(epochs: int = 12, copies: int = 48, seed: int = 0, progress: bool = False,
                           data: EmojiDataset | None = None, batch_size: int = 128):
    """(classifier, report) trained on `copies` jittered copies of every emoji per epoch."""
    data = data or load_emoji()
    both = torch.cat([ink(data.images), ink(near_view(data.images))])  # every emoji and its near view
    train = _Split(both.repeat(copies // 2, 1, 1, 1), data.labels.repeat(2 * (copies // 2)), data.class_names)
    test = jittered(data, 4, seed + 1)
    return train_classifier(train, test, epochs=epochs, batch_size=batch_size, lr=3e-3, seed=seed, augment=JITTER,
                            progress=progress)


def _grid() -> list[int]:
    return strided_timesteps(990, 30)


@torch.no_grad()
def _draw(denoiser, cond: Tensor | None, seeds: list[int], batch: int = 64) -> Tensor:
    out = []
    for i in range(0, len(seeds), batch):
        noise = NoiseSource(seeds[i:i + batch])
        c = None if cond is None else cond[i:i + batch]
        out.append(sample_loop(denoiser, noise.randn(denoiser.image_shape), _grid(), c, noise=noise))
    return torch.cat(out).clamp(-1, 1)


def prompt_accuracy(model, classifier: Classifier, per_prompt: int = 4, guidance: float = 7.0, seed: int = 0,
                    chars=EVAL_CHARS):
    """(accuracy, samples (N, 3, S, S), intended labels) for `chars` (the 50 named emoji by default),
    each prompted with its first caption; the classifier chooses among all emoji of the dataset."""
    data = load_emoji()
    labels = torch.tensor([data.chars.index(c) for c in chars]).repeat_interleave(per_prompt)
    prompts = [data.captions[i][0] for i in labels.tolist()]
    samples = _draw(GuidedDenoiser(model, guidance), model.encode(prompts).cpu(), list(range(seed, seed + len(labels))))
    return class_accuracy(classifier, ink(samples), labels), samples, labels


def fid_with_floor(classifier: Classifier, samples: Tensor, labels: Tensor, seed: int = 0) -> tuple[float, float]:
    """(FID of samples vs jittered real images of the same classes, FID of two real jitterings)."""
    data = load_emoji()
    real = data.images[labels]
    gen = torch.Generator().manual_seed(seed + 7)
    real_a = random_affine(ink(real), JITTER, gen)
    real_b = random_affine(ink(real), JITTER, gen)
    feats = lambda x: classifier_features(classifier, x)  # noqa: E731
    return frechet_distance(feats(ink(samples)), feats(real_a)), frechet_distance(feats(real_b), feats(real_a))


def _label(name: str) -> int:
    return load_emoji().class_names.index(name)


def anagram_rate(model, classifier: Classifier, seeds: int = ILLUSION_SEEDS, guidance: float = 7.0,
                 seed: int = 0) -> dict:
    """Fraction of seeds whose both views are recognised, per view and overall."""
    guided = GuidedDenoiser(model, guidance)
    rates = {}
    for view_name in ANAGRAM_VIEWS:
        views, hits = [get_view("identity"), get_view(view_name)], []
        for a, b in ANAGRAM_PAIRS:
            conds = [model.encode([p]).cpu().expand(seeds, -1) for p in (a, b)]
            images = _draw(MultiViewDenoiser(guided, views, conds), None, list(range(seed, seed + seeds)))
            seen = [predict_logits(classifier, ink(view_clean(v, images, model.value_range))).argmax(1) for v in views]
            hits.append(((seen[0] == _label(a)) & (seen[1] == _label(b))).float())
        rates[view_name] = torch.cat(hits).mean().item()
    rates["mean"] = sum(rates.values()) / len(ANAGRAM_VIEWS)
    return rates


def hybrid_rate(model, classifier: Classifier, seeds: int = ILLUSION_SEEDS, guidance: float = 7.0,
                seed: int = 0) -> float:
    """Fraction of seeds whose far view shows the first prompt and near view the second."""
    guided, hits = GuidedDenoiser(model, guidance), []
    for far, near in ANAGRAM_PAIRS:
        c_far, c_near = (model.encode([p]).cpu() for p in (far, near))
        images = _draw(FactorizedDenoiser(guided, c_far, c_near), None, list(range(seed, seed + seeds)))
        far_ok = predict_logits(classifier, ink(far_view(images))).argmax(1) == _label(far)
        near_ok = predict_logits(classifier, ink(near_view(images, hybrid_blur(model)))).argmax(1) == _label(near)
        hits.append((far_ok & near_ok).float())
    return torch.cat(hits).mean().item()


def evaluate_emoji(model, classifier: Classifier, per_prompt: int = 4, illusion_seeds: int = ILLUSION_SEEDS,
                   guidance: float = 7.0, seed: int = 0) -> dict:
    """All of §6's quality numbers (speed is measured by running the commands: scripts/emoji_metrics.py)."""
    start = time.perf_counter()
    accuracy, samples, labels = prompt_accuracy(model, classifier, per_prompt, guidance, seed)
    fid, floor = fid_with_floor(classifier, samples, labels, seed)
    anagrams = anagram_rate(model, classifier, illusion_seeds, guidance, seed)
    hybrids = hybrid_rate(model, classifier, illusion_seeds, guidance, seed)
    return {"prompt_accuracy": accuracy, "prompts": len(EVAL_CHARS), "samples_per_prompt": per_prompt,
            "classifier_fid": fid, "classifier_fid_floor": floor, "anagram_both_views": anagrams,
            "hybrid_both_views": hybrids, "illusion_seeds": illusion_seeds, "pairs": [list(p) for p in ANAGRAM_PAIRS],
            "guidance": guidance, "grid": "990 -> 0 by 30, DDPM", "seconds": round(time.perf_counter() - start, 1)}

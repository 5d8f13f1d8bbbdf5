"""Training the Part B models: configs and presets, pure objectives, the one loop, exact resume.

    from difflab.training import preset, train, resume
    result = train(preset("quick-flow-class").replace(epochs=3), out="runs/my-flow")
    resume("runs/my-flow")   # after a crash or kill -9: continues bit-identically
"""

from .config import PRESETS, RECIPES, TrainConfig, preset, preset_names, resolve
from .loop import TrainingInterrupted, TrainResult, resume, train

__all__ = ["PRESETS", "RECIPES", "TrainConfig", "TrainResult", "TrainingInterrupted", "preset", "preset_names",
           "resolve", "resume", "train"]

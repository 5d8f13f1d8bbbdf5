"""What every Part A procedure shares: the loaded model, its grids, its conditions and inputs.

Every function works on any Part A model: DeepFloyd IF (``condition_kind == "text"``: the FA24
staff prompts, "a high quality photo" as the unprompted condition, CFG γ = 7) and the course
models (``"class"``: digits as conditions, the null class as the unprompted one, CFG γ = 5); the
defaults come from `difflab.defaults`.

Time grids: grid indices (i_start) always refer to the path's 33-step grid (`GaussianPath.grid`),
so i_start = 10 is t = 690 on IF and t = 10/33 on a flow model, and every loop runs on that grid as
the course's do. Under ``--quick`` loops continue from the same noisy image on an 8-step grid: the
noise level of every edit is still the course's, only the number of steps back differs. A1.4 shows
the course's loop itself and always runs on the 33-step grid.

Every procedure runs on one thread (`single_threaded`): on a shared 2-core CPU, two threads per
small 28-px batch were 20× slower than one.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ...defaults import GRID_STEPS, UNPROMPTED_TEXT, default_guidance, unprompted
from ...guidance import GuidedDenoiser
from ..inputs import Inputs, inputs_for, load_input
from ..prose import ModelKey
from ..section import Section
from ..tour import TourContext

QUICK_STEPS = 8  # the loop grid of --quick tours

# The conditions of each row, by role (the catalog's ``conditions=`` argument) and condition kind.
TEXT = {  # FA24 staff prompts (spec §2.0, §7)
    "sampling": ("an oil painting of a snowy mountain village", "a man wearing a hat", "a rocket ship"),
    "cfg": (UNPROMPTED_TEXT,) * 5,  # A1.6 guides the unprompted condition itself on IF
    "img2img": "a rocket ship",
    "anagram": (("an oil painting of an old man", "an oil painting of people around a campfire", "flip", 0),),
    "anagrams": (("an oil painting of a snowy mountain village", "an oil painting of an old man", "flip", 1),
                 ("a photo of a dog", "an oil painting of people around a campfire", "flip", 2)),
    "hybrid": (("a lithograph of a skull", "a lithograph of waterfalls"),),
    "hybrids": (("a rocket ship", "a pencil"), ("a photo of a man", "a photo of a dog")),
    "bw": (("an oil painting of an old man", "a photo of a dog", "negate", 3),
           ("a lithograph of waterfalls", "an oil painting of a snowy mountain village", "jigsaw", 4)),
}
# The staff prompts in the words of a model with a closed caption vocabulary (the shipped emoji model):
# "an oil painting of …" and "a lithograph of …" are outside what it learned, so each staff prompt names
# the emoji that stands for it by one of that emoji's own captions (`difflab.emoji_data`); the rest of
# the staff prompts ("a man wearing a hat", "a rocket ship", "a pencil") are captions already.
IN_VOCABULARY = {
    "an oil painting of a snowy mountain village": "a snowy mountain village",
    "an oil painting of an old man": "an old man",
    "an oil painting of people around a campfire": "campfire",
    "a photo of a dog": "dog",
    "a photo of a man": "an old man",  # no plain man among the emoji
    "a lithograph of a skull": "a skull",
    "a lithograph of waterfalls": "waterfall",
}
# A1.6 guides "a high quality photo" on IF; to the emoji model that prompt is the null prompt, and guiding
# the null prompt toward itself changes nothing, so there (as on the digit models) each sample is guided
# toward a named prompt instead.
VOCABULARY_ROLES = {"cfg": ("a rocket ship", "a man wearing a hat", "a snowy mountain village", "a skull", "dog")}
CLASS = {  # digits: the staff pairs have no digit counterpart, so pairs that suit each view
    "sampling": ("0", "4", "8"),
    "cfg": ("0", "1", "2", "3", "4"),
    "img2img": "8",
    # (upright, through the view, view, seed offset): on digits the offset is the seed among the tour's
    # first six (seed + 0 … 5) whose result reads best, picked by looking at mnist-flow's samples
    "anagram": (("6", "9", "rot180", 2),),
    "anagrams": (("1", "7", "rot180", 2), ("2", "5", "rot180", 1)),
    "hybrid": (("0", "1"),),
    "hybrids": (("8", "3"), ("7", "1")),
    "bw": (("1", "0", "negate", 0), ("1", "7", "jigsaw", 1)),
}


def in_vocabulary(rows):
    """`rows` (a prompt, or nested tuples of prompts, views and seeds) with every staff prompt replaced
    by its `IN_VOCABULARY` caption."""
    if isinstance(rows, tuple):
        return tuple(in_vocabulary(row) for row in rows)
    return IN_VOCABULARY.get(rows, rows) if isinstance(rows, str) else rows


@contextmanager
def one_thread():
    """Tiny convolutions (the blur search, 28-px batches) run far faster on one thread than on several."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def single_threaded(run):
    """A procedure run on one thread: 28-px batches of a few images gain nothing from more, and on a
    shared CPU several threads spin against each other (measured: 0.15 s a call on one, 3 s on two)."""
    @functools.wraps(run)
    def wrapped(ctx: TourContext, section: Section, **args) -> None:
        with one_thread():
            return run(ctx, section, **args)
    return wrapped


@dataclass
class PartA:
    """The loaded model and the settings every Part A procedure shares."""

    model: object
    key: ModelKey  # whose paragraphs the sections print
    grid: list  # the 33-step index grid
    loop_grid: list  # the grid loops run on (the index grid, coarser under --quick)
    steps: int
    gamma: float | None
    inputs: Inputs
    images: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.model.condition_kind

    @property
    def range(self):
        return tuple(self.model.value_range)

    @property
    def size(self) -> int:
        return self.model.image_shape[1]

    def conditions(self, role: str):
        """The conditions of a role ("sampling", "anagrams", …) for this model's condition kind;
        "unprompted" is "a high quality photo" on text models and the null class (None) otherwise."""
        if role == "unprompted":
            return unprompted(self.kind)
        if self.kind != "text":
            return CLASS[role]
        if getattr(self.model, "vocabulary", None):
            return VOCABULARY_ROLES.get(role) or in_vocabulary(TEXT[role])
        return TEXT[role]

    def cond(self, prompt, n: int = 1):
        """n rows of the condition of `prompt` (None = the null condition); None for unconditional models."""
        if self.kind == "none":
            return None
        return self.model.encode([prompt] * n)

    def denoiser(self, guided: bool):
        """The model, with CFG when `guided` and the model has conditions."""
        if guided and self.gamma is not None and self.gamma != 1:
            return GuidedDenoiser(self.model, self.gamma)
        return self.model

    def image(self, spec: str) -> torch.Tensor:
        if spec not in self.images:
            self.images[spec] = load_input(spec, self.model)
        return self.images[spec]

    def label(self, prompt) -> str:
        if self.kind == "text":
            return f'"{prompt}"'
        return "the null class" if prompt is None else f"class {prompt}"

    def t_text(self, t) -> str:
        return str(t) if isinstance(t, int) else f"{t:.3f}".rstrip("0").rstrip(".")

    def common_params(self, section: Section, guided: bool = False) -> None:
        grid = "the 33-step grid" if self.loop_grid is self.grid else "--quick: coarser than the 33-step index grid"
        section.params.update({"model": getattr(self.model, "name", "?"), "path": self.model.path.name,
                               "loop steps": f"{self.steps} ({grid})"})
        if guided:
            section.params["CFG γ"] = self.gamma


def setup(ctx: TourContext) -> PartA:
    """The tour's Part A model, loaded once per tour."""
    def make() -> PartA:
        from ...models.registry import load_denoiser
        model = load_denoiser(ctx.model, device=torch.device("cpu") if not torch.cuda.is_available() else None)
        grid = model.path.grid(GRID_STEPS)
        steps = ctx.pick(GRID_STEPS, QUICK_STEPS)
        loop_grid = grid if steps == GRID_STEPS else model.path.grid(steps)
        gamma = None if model.condition_kind == "none" else default_guidance(model.condition_kind)
        inputs = replace(inputs_for(tuple(model.image_shape)), test=test_image_spec(ctx, model))
        return PartA(model, model_key(ctx.model, model), grid, loop_grid, steps, gamma, inputs)
    with torch.inference_mode():
        return ctx.cached(f"part-a:{ctx.model}:{ctx.quick}", make)


def model_key(name: str, model) -> ModelKey:
    """The prose key of a --model: its shipped name if it is one, its condition kind and objective."""
    from ...models.registry import builtin_models, is_deepfloyd
    kind = model.condition_kind
    objective = None if kind == "text" else getattr(getattr(model, "spec", None), "objective", None)
    shipped = name if name in builtin_models() else None
    if is_deepfloyd(name) and not Path(name).expanduser().is_dir():
        shipped = "deepfloyd-if"  # IF's own weights, by alias or Hub id; a local folder may be any IF-format model
    return ModelKey(shipped, kind, objective)


def test_image_spec(ctx: TourContext, model) -> str:
    """The image Part A starts from: a test digit on 28-px digit models, the test photo otherwise."""
    spec = inputs_for(tuple(model.image_shape)).test
    return ctx.test_photo if model.condition_kind == "text" or spec.startswith("builtin:") else spec


def role_images(P: PartA, role: str) -> list[str]:
    """The input specs of a role: "test", "own", "web" or "drawn" (`report.inputs`)."""
    value = getattr(P.inputs, role)
    return [value] if isinstance(value, str) else list(value)

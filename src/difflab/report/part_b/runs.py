"""The tour's small training runs as a section sees them: one run per recipe and mode, trained once
per tour (`training.tour_runs.ensure_trained`) into ``<report>/work/<recipe>-<mode>`` and shared by
every section that shows it; captions say how it was trained, beside the course's recipe."""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import UserError
from ...training.tour_runs import TourMode, ensure_trained, recipe_text, run_config
from ..section import Section
from ..tour import TourContext

COURSE_TEXT = {  # the course's recipes, to show beside the tour's reduced ones
    "denoise": "D = 128, σ = 0.5, batch 256, Adam 1e-4, 5 epochs on all of MNIST",
    "pure-noise": "z = ε, D = 128, batch 256, Adam 1e-4, 5 epochs on all of MNIST",
    "ddpm": "T = 300, β 1e-4→0.02, D = 64, batch 128, Adam 1e-3, ExpLR 0.1^(1/20), 20 epochs on all of MNIST",
    "flow": "D = 64, batch 64, Adam 1e-2, ExpLR 0.1^(1/10), 10 epochs, 50 Euler steps, on all of MNIST",
    "flow-class-nolr": "as the class-conditioned flow (D = 64, batch 64, 10 epochs) without the scheduler",
}


def mode(ctx: TourContext) -> TourMode:
    return "course" if ctx.train else "quick" if ctx.quick else "reduced"


def config(ctx: TourContext, recipe: str):
    """The TrainConfig the tour uses for `recipe` (see `training.tour_runs.run_config`)."""
    return run_config(recipe, mode(ctx), ctx.dataset, ctx.seed)


def trained(ctx: TourContext, recipe: str, cfg=None, name: str | None = None) -> Path:
    """The finished run folder of `recipe` for this tour: trained, resumed, or found done (once per tour)."""
    cfg = cfg or config(ctx, recipe)
    name = name or f"{recipe}-{mode(ctx)}"
    return ctx.cached(f"partb-run:{name}", lambda: ensure_trained(ctx.work_dir(name), cfg, ctx.log, ctx.quiet))


def describe(ctx: TourContext, recipe: str, cfg) -> str:
    """How a run was trained, in a caption: the course's preset, or the reduced run beside the course's."""
    if ctx.train:
        return f"the course recipe ({recipe_text(cfg)}; preset {cfg.preset}), trained in this tour (--train)"
    return (f"a run reduced to fit the tour ({recipe_text(cfg)}; {'--quick' if ctx.quick else 'default tour'}); "
            f"the course's: {COURSE_TEXT[recipe]}")


def metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def run_params(section: Section, ctx: TourContext, recipe: str, cfg, folder: Path) -> None:
    """The parameter table every section of a run shows, and its training seed."""
    done = metrics(folder)
    section.params.update({"recipe": f"{cfg.preset} + tour overrides" if not ctx.train else cfg.preset,
                           "training": recipe_text(cfg), "course": COURSE_TEXT.get(recipe, cfg.preset),
                           "reduced": not ctx.train, "training seed": cfg.seed,
                           "EMA": cfg.ema_decay, "weights shown": cfg.export_weights,
                           "steps": done["steps"], "train time (s)": done["train_time_s"],
                           "run folder": str(folder.relative_to(ctx.report_dir))})
    section.seeds.append(cfg.seed)


def epoch_file(folder: Path, epoch: int) -> Path:
    """The sample grid a run drew after `epoch` (its EMA weights' if it has them)."""
    for which in ("ema", "raw"):
        path = folder / "samples" / f"epoch-{epoch:03d}-{which}.png"
        if path.is_file():
            return path
    raise UserError(f"{folder} has no samples after epoch {epoch}")

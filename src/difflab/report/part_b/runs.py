"""Where a Part B section's model comes from, and the one way every section reads it.

By default (and with --quick) a run is the one shipped as snapshots in weights/partb, trained by
`difflab train` from a quick-* preset (`models.registry.shipped_run`); with --train it is the course
preset trained in this tour into ``<report>/work/<recipe>-course`` (`training.tour_runs`). Both give
a `PartBRun`: the training config, the weights after each sample epoch, the per-iteration losses and
the run's metrics, so that every figure is drawn now, from weights, by the same code either way.
Captions say how the run was trained beside the course's recipe, and which course epoch a snapshot
stands for when the run's epochs differ from the course's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...checkpoints import load_model_file
from ...errors import UserError
from ...models.registry import load_course_model, shipped_run
from ...training.config import TrainConfig, preset
from ...training.outputs import run_records
from ...training.tour_runs import THREADS, ensure_trained, recipe_text, run_config
from ..prose import ANY, ModelKey
from ..section import Section
from ..tour import TourContext

COURSE_TEXT = {  # the course's recipes, shown beside the runs the tour draws
    "denoise": "D = 128, σ = 0.5, batch 256, Adam 1e-4, 5 epochs on all of MNIST",
    "pure-noise": "z = ε, D = 128, batch 256, Adam 1e-4, 5 epochs on all of MNIST",
    "ddpm": "T = 300, β 1e-4→0.02, D = 64, batch 128, Adam 1e-3, ExpLR 0.1^(1/20), 20 epochs on all of MNIST",
    "flow": "D = 64, batch 64, Adam 1e-2, ExpLR 0.1^(1/10), 10 epochs, 50 Euler steps, on all of MNIST",
    "ddpm-class": "T = 300, D = 64, batch 128, Adam 1e-3, ExpLR 0.1^(1/20), 20 epochs on all of MNIST, p_uncond 0.1",
    "flow-class": "D = 64, batch 64, Adam 1e-2, ExpLR 0.1^(1/10), 10 epochs on all of MNIST, p_uncond 0.1",
    "flow-class-nolr": "as the class-conditioned flow (D = 64, batch 64, 10 epochs) with a constant Adam 1e-3",
}
SHIPPED = ModelKey(name="shipped")  # prose checked by eye on the shipped snapshots


@dataclass
class PartBRun:
    """A finished Part B run: its config, {epoch: model file} of its snapshots, and its records."""

    recipe: str
    config: TrainConfig
    snapshots: dict[int, Path]
    records: dict = field(repr=False)  # metrics, epochs (per-epoch records), loss_history
    origin: str  # how it was trained, for captions
    prose: ModelKey = ANY

    @property
    def last(self) -> int:
        return max(self.snapshots)

    def load(self, epoch: int | None = None) -> tuple:
        """(net on the CPU in eval mode, spec) of the weights after `epoch` (the last by default)."""
        epoch = self.last if epoch is None else epoch
        if epoch not in self.snapshots:
            raise UserError(f"the {self.recipe} run has no weights after epoch {epoch} "
                            f"(it has {sorted(self.snapshots)})")
        net, spec, _ = load_course_model(str(self.snapshots[epoch]), device="cpu")
        return net, spec

    def loss_history(self) -> tuple[list[int], list[float]]:
        history = self.records.get("loss_history") or {}
        return list(history.get("step", [])), list(history.get("loss", []))

    @property
    def metrics(self) -> dict:
        return self.records.get("metrics", {})

    def epoch_text(self, epoch: int) -> str:
        """'epoch 2 of 20 (the course's epoch 1 of 10, the same fraction of training)', or without the note
        when the run's epochs are the course's."""
        text = f"epoch {epoch} of {self.config.epochs}"
        course = preset(f"course-{self.recipe}") if self.recipe in COURSE_TEXT else None
        if course is None or self.config.epochs == course.epochs:
            return text
        fraction = epoch / self.config.epochs
        match = [e for e in course.sample_epochs if abs(e / course.epochs - fraction) < 1e-9]
        note = f"the course's epoch {match[0]} of {course.epochs}, the same fraction of training" if match else \
            f"the course trains {course.epochs} epochs"
        return f"{text} ({note})"


def part_b_run(ctx: TourContext, recipe: str, cfg: TrainConfig | None = None, name: str | None = None) -> PartBRun:
    """The run of `recipe` this tour draws from: shipped snapshots, or (--train, or an explicit `cfg`)
    a run trained into the report's work folder; loaded once per tour."""
    if ctx.train or cfg is not None:
        cfg = cfg or run_config(recipe, ctx.dataset, ctx.seed)
        name = name or f"{recipe}-course"
        return ctx.cached(f"partb-run:{name}", lambda: _trained(ctx, recipe, cfg, name))
    return ctx.cached(f"partb-run:{recipe}-shipped", lambda: shipped(recipe))


def shipped(recipe: str) -> PartBRun:
    """The shipped run of `recipe` (file stem in weights/partb: denoise, ddpm, flow-class, flow-bw, …)."""
    snapshots = shipped_run(recipe)
    if not snapshots:
        raise UserError(f"no shipped Part B run {recipe!r} in the package (reinstall difflab, or use --train)")
    records = load_model_file(snapshots[max(snapshots)])[2]
    cfg = TrainConfig.from_dict(records["train_config"])
    return PartBRun(recipe, cfg, snapshots, records, f"the shipped run ({recipe_text(cfg)}; preset {cfg.preset}"
                    f"{' with overrides' if _overridden(cfg) else ''})", SHIPPED)


def _overridden(cfg: TrainConfig) -> bool:
    base = preset(cfg.preset)
    return any(getattr(base, k) != getattr(cfg, k) for k in ("hidden", "epochs", "batch_size", "lr", "lr_schedule"))


def _trained(ctx: TourContext, recipe: str, cfg: TrainConfig, name: str) -> PartBRun:
    folder = ensure_trained(ctx.work_dir(name), cfg, ctx.log, ctx.quiet)
    snapshots = {int(p.stem[-3:]): p for p in sorted((folder / "checkpoints").glob("epoch-[0-9][0-9][0-9].*"))}
    return PartBRun(recipe, cfg, snapshots, run_records(folder),
                    f"trained in this tour with preset {cfg.preset} ({recipe_text(cfg)}) into "
                    f"{folder.relative_to(ctx.report_dir)}")


def describe(run: PartBRun) -> str:
    """How a run was trained, for a caption: its origin and recipe beside the course's."""
    course = COURSE_TEXT.get(run.recipe)
    return f"{run.origin}" + (f"; the course's: {course}" if course else "")


def test_digits(ctx: TourContext, run: PartBRun, count: int):
    """The first `count` held-out digits of the run's dataset (what its training figures used)."""
    from ...data import load_dataset
    data = ctx.cached(f"dataset:{run.config.dataset}:test", lambda: load_dataset(run.config.dataset, "test"))
    return data.images[:count]


def run_params(section: Section, run: PartBRun) -> None:
    """The parameter table every section of a run shows, and its training seed."""
    done = run.metrics
    section.params.update({"recipe": run.config.preset, "training": recipe_text(run.config),
                           "course": COURSE_TEXT.get(run.recipe, run.config.preset),
                           "origin": run.origin, "training seed": run.config.seed, "EMA": run.config.ema_decay,
                           "weights shown": run.config.export_weights, "snapshots (epochs)": sorted(run.snapshots),
                           "steps": done.get("steps"), "train time (s)": done.get("train_time_s")})
    section.seeds.append(run.config.seed)


def scored_samples(ctx: TourContext, run: PartBRun, n: int, guidance: float):
    """(samples of the run's final weights drawn now with the model's fast default sampler and their
    scores, the settings): class models at γ = `guidance`, time-only ones unguided; once per tour."""
    def make():
        from ...data import load_dataset
        from ...defaults import fast_sampling
        from ...evaluation.sampled import sample_and_score
        from ...models.registry import load_denoiser
        from ...solvers import make_solver
        denoiser = load_denoiser(str(run.snapshots[run.last]), device="cpu")
        solver_name, steps = fast_sampling(denoiser)
        ctx.log(f"tour: sampling {n} images from the {run.recipe} run ({solver_name}, {steps} steps) and scoring them")
        dataset = denoiser.spec.dataset
        real = ctx.cached(f"dataset:{dataset}:all", lambda: load_dataset(dataset, "all"))
        scored = sample_and_score(denoiser, real.images, n, steps, guidance, ctx.seed, threads=THREADS,
                                  solver=make_solver(solver_name))
        return scored, dict(n=n, steps=steps, solver=solver_name)
    return ctx.cached(f"partb-eval:{run.recipe}:{run.last}:{n}", make)

"""B2.5a/b, B2.5-FM, B2.6-FM: the class-conditioned DDPM and flow — the shipped runs (the recipe of
`mnist-ddpm` and `mnist-flow`, retrained with snapshots after the course's epochs) or, with --train,
the course presets trained in this tour: the per-iteration and per-epoch loss, the 4-per-digit γ = 5
grid after each asked epoch drawn now, and classifier-FID (beside its real-vs-real floor) and class
accuracy of N samples of the final weights drawn now (`evaluation.sampled.sample_and_score`)."""

from __future__ import annotations

from ...defaults import default_guidance
from ...figures import save_curve
from ...training.outputs import save_loss_history
from ..prose import join, paragraph
from ..section import Section
from ..tour import TourContext
from .runs import PartBRun, describe, part_b_run, scored_samples
from .small_runs import draw_epochs, grid_config

# Samples of the final weights scored now, per mode (with the fast default: 500 cost what 100 did
# with 30 course steps). Tests monkeypatch this.
EVAL = {"full": 500, "quick": 40}
GAMMA = default_guidance("class")


def class_run(ctx: TourContext, kind: str) -> PartBRun:
    """The class-conditioned DDPM (kind="ddpm") or flow run this tour draws from."""
    return part_b_run(ctx, f"{kind}-class")


def class_loss(ctx: TourContext, section: Section, kind: str) -> None:
    """B2.5a, B2.5-FM: the per-iteration loss and the per-epoch train and test loss."""
    run = class_run(ctx, kind)
    steps, losses = run.loss_history()
    save_loss_history(section.path("loss-per-step.png"), steps, losses, f"{run.recipe}: loss per iteration")
    section.add_figure("loss-per-step.png", f"Per-iteration training loss of {run.origin} over all {len(steps):,} "
                       "optimizer steps, with its running mean.")
    epochs = run.records["epochs"]
    series = {"train loss (epoch mean)": [e["train_loss"] for e in epochs]}
    if all("test_loss_ema" in e for e in epochs):
        series["test loss, EMA weights"] = [e["test_loss_ema"] for e in epochs]
    save_curve(section.path("loss.png"), [e["epoch"] for e in epochs], series, xlabel="epoch", ylabel="MSE loss",
               log_y=True, title=f"{run.recipe}: loss per epoch")
    section.add_figure("loss.png", "Training loss per epoch (mean over the epoch's iterations) and the held-out "
                       f"test loss of the EMA weights; {describe(run)}.")
    section.params.update({"run": run.recipe, "origin": run.origin,
                           "final train loss": round(series["train loss (epoch mean)"][-1], 5)})
    section.seeds.append(run.config.seed)
    section.paragraph = paragraph("B2.5a/B2.5-FM", run.prose)


def class_samples(ctx: TourContext, section: Section, kind: str) -> None:
    """B2.5b, B2.6-FM: the 4-per-digit grid after each asked epoch, and N samples of the final weights scored."""
    run = class_run(ctx, kind)
    cfg = grid_config(ctx, run)
    sampler = (f"{cfg.sample_steps} Euler steps" if kind == "flow" else
               f"{cfg.sample_steps} strided ancestral steps of T = {cfg.num_train_steps}")
    draw_epochs(ctx, section, run, f"{cfg.samples_per_class} samples of every digit (columns), {sampler}, "
                f"classifier-free guidance u + {cfg.guidance:g}·(c − u), sample i from seed {cfg.sample_seed} + i "
                f"with label i mod 10,", sorted(run.snapshots))
    scored, settings = scored_samples(ctx, run, EVAL["quick" if ctx.quick else "full"], GAMMA)
    result = scored.result
    metrics = {"classifier_fid": round(result.fid, 3), "classifier_fid_floor": round(result.fid_floor, 3),
               "class_accuracy": round(result.class_accuracy, 4), "kid": round(result.kid, 5),
               "kid_floor": round(result.kid_floor, 5)}
    section.params.update({"guidance": GAMMA, "evaluated samples": settings["n"],
                           "evaluation sampler": f"{settings['solver']}, {settings['steps']} steps (the fast default)",
                           "evaluation": f"{result.summary()} — computed now from {settings['n']} samples of the "
                                         f"weights after epoch {run.last} against the shipped MNIST classifier",
                           "recorded evaluations": run.records.get("evaluations") or "none"})
    section.seeds.extend(ctx.seeds(settings["n"]))
    section.paragraph = join(paragraph(f"{section.id}-grids", run.prose), paragraph("B2.5b/B2.6-FM", run.prose, n=settings["n"], summary=result.summary(),
                                  solver=settings["solver"], steps=settings["steps"], epoch=run.last))
    section.finish(metrics=metrics)

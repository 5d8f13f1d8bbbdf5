"""Sections drawn from the tour's small training runs: the single-step and pure-noise denoisers
(B1.2.1–B1.2.3), the time-only DDPM and flow (B2.2, B2.3, -FM), the constant-lr flow (B2.6-noLR)
and, with --train only, a better time-only flow (B-BW). Each copies its run's own figures."""

from __future__ import annotations

from ...errors import UserError
from ...training.tour_runs import BETTER_TIME_ONLY, COURSE_STEPS, optimizer_steps, recipe_text
from ..prose import join, paragraph
from ..section import Section
from ..tour import TourContext
from .runs import config, describe, epoch_file, metrics, run_params, trained

MODEL_TEXT = {
    "denoise": "single-step denoiser (z = x + 0.5·ε → x)",
    "pure-noise": "pure-noise denoiser (z = ε → x)",
    "ddpm": "time-conditioned DDPM (ε-prediction)",
    "flow": "time-conditioned flow-matching UNet (velocity x1 − x0)",
}
SWEEP_SIGMAS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)  # the run's out-of-distribution figure (B1.2.2)


def loss_curve(ctx: TourContext, section: Section, recipe: str) -> None:
    """B1.2.1a, B1.2.3a, B2.2, B2.2-FM: a run's per-iteration training loss."""
    cfg = config(ctx, recipe)
    folder = trained(ctx, recipe, cfg)
    section.copy_figure(folder / "loss.png", "loss.png", f"Training loss (MSE, per iteration, log scale) of the "
                        f"{MODEL_TEXT[recipe]}: {describe(ctx, recipe, cfg)}.")
    run_params(section, ctx, recipe, cfg, folder)
    done = metrics(folder)
    section.params["final train loss"] = round(done["final_train_loss"], 5)
    for key in ("test_loss_ema", "test_loss_raw"):
        if key in done:
            section.params[key.replace("_", " ")] = round(done[key], 5)
    section.paragraph = paragraph(section.id)


def _epoch_grids(ctx: TourContext, section: Section, recipe: str, what: str, epochs) -> None:
    cfg = config(ctx, recipe)
    folder = trained(ctx, recipe, cfg)
    for epoch in epochs:
        section.copy_figure(epoch_file(folder, epoch), f"epoch-{epoch:03d}.png",
                            f"{what} after epoch {epoch} of {cfg.epochs}; {describe(ctx, recipe, cfg)}.")
    run_params(section, ctx, recipe, cfg, folder)
    section.params["sample epochs"] = list(epochs)
    section.seeds.append(cfg.sample_seed)


def denoiser_epoch(ctx: TourContext, section: Section, which: str) -> None:
    """B1.2.1b (which="first"), B1.2.1c ("last"): test digits through the denoiser after that epoch."""
    cfg = config(ctx, "denoise")
    epoch = cfg.sample_epochs[0] if which == "first" else cfg.epochs
    _epoch_grids(ctx, section, "denoise", "Test digits, rows [input, noisy (σ = 0.5), output],", [epoch])
    course_epoch = 1 if which == "first" else 5
    section.paragraph = join(paragraph("B1.2.1b/c"), "" if epoch == course_epoch else
                             paragraph("epoch-differs", course_epoch=course_epoch, epochs=cfg.epochs))


def denoiser_ood(ctx: TourContext, section: Section) -> None:
    """B1.2.2: the first test digit at σ = 0 … 1, noisy row over denoised row."""
    cfg = config(ctx, "denoise")
    folder = trained(ctx, "denoise", cfg)
    section.copy_figure(folder / "figures" / "ood-sweep.png", "ood-sweep.png", "The first test digit noised at σ = "
                        f"0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0 (top, one ε, seed {cfg.sample_seed}) and the denoiser's "
                        f"output (bottom); trained at σ = 0.5 only: {describe(ctx, 'denoise', cfg)}.")
    run_params(section, ctx, "denoise", cfg, folder)
    section.params["σ"] = list(SWEEP_SIGMAS)
    section.seeds.append(cfg.sample_seed)
    section.paragraph = paragraph("B1.2.2")


def pure_noise_epochs(ctx: TourContext, section: Section) -> None:
    """B1.2.3b: the pure-noise denoiser's outputs after the first and the last epoch."""
    cfg = config(ctx, "pure-noise")
    _epoch_grids(ctx, section, "pure-noise", f"Outputs D(ε) for {cfg.samples} pure-noise inputs",
                 [cfg.sample_epochs[0], cfg.epochs])
    section.paragraph = paragraph("B1.2.3b")


def pure_noise_mean(ctx: TourContext, section: Section) -> None:
    """B1.2.3c: outputs beside the training-set mean, with RMS distances."""
    cfg = config(ctx, "pure-noise")
    folder = trained(ctx, "pure-noise", cfg)
    section.copy_figure(folder / "figures" / "pure-noise-vs-mean.png", "pure-noise-vs-mean.png",
                        f"Ten outputs D(ε) (seeds {cfg.sample_seed}…{cfg.sample_seed + 9}) beside the mean of the "
                        f"training digits used; {describe(ctx, 'pure-noise', cfg)}.")
    run_params(section, ctx, "pure-noise", cfg, folder)
    done = metrics(folder)
    values = {k: round(done[k], 4) for k in ("output_to_mean_rms", "digit_to_mean_rms", "output_spread_rms")}
    section.params.update(values)
    section.seeds.append(cfg.sample_seed)
    section.paragraph = paragraph("B1.2.3c", **values)
    section.finish(metrics=values)


def time_only_samples(ctx: TourContext, section: Section, recipe: str) -> None:
    """B2.3 (recipe="ddpm"), B2.3-FM ("flow"): the same noise sampled after each sample epoch."""
    cfg = config(ctx, recipe)
    seeds = f"seeds {cfg.sample_seed}…{cfg.sample_seed + cfg.samples - 1}"
    what = (f"{cfg.samples} DDPM samples ({cfg.sample_steps} strided steps of T = {cfg.num_train_steps}, {seeds})"
            if recipe == "ddpm" else f"{cfg.samples} flow samples ({cfg.sample_steps} Euler steps, {seeds})")
    _epoch_grids(ctx, section, recipe, what, cfg.sample_epochs)
    note = "" if ctx.train else paragraph("reduced-run", steps=optimizer_steps(cfg), hidden=cfg.hidden,
                                          course_steps=COURSE_STEPS[recipe], recipe=recipe)
    section.paragraph = join(paragraph(section.id), note)


def flow_nolr(ctx: TourContext, section: Section) -> None:
    """B2.6-noLR: a class-conditioned flow with a constant learning rate."""
    cfg = config(ctx, "flow-class-nolr")
    folder = trained(ctx, "flow-class-nolr", cfg)
    section.copy_figure(folder / "loss.png", "loss.png", f"Training loss of the constant-lr class-conditioned flow: "
                        f"{describe(ctx, 'flow-class-nolr', cfg)}.")
    section.copy_figure(epoch_file(folder, cfg.epochs), "samples.png", f"{cfg.samples_per_class} samples per digit "
                        f"after epoch {cfg.epochs}, CFG γ = {cfg.guidance}, {cfg.sample_steps} Euler steps (seeds "
                        f"{cfg.sample_seed} + i).")
    run_params(section, ctx, "flow-class-nolr", cfg, folder)
    section.params["lr"] = f"{cfg.lr:g}, constant (no ExponentialLR)"
    note = "" if ctx.train else _reduced_vs_shipped(cfg)
    section.paragraph = join(paragraph("B2.6-noLR", lr=cfg.lr), note)


def _reduced_vs_shipped(cfg) -> str:
    from .class_models import model_records
    shipped = model_records("mnist-flow")["train_config"]
    return paragraph("reduced-vs-shipped", hidden=cfg.hidden, epochs=cfg.epochs,
                     train_images=cfg.train_images or "all", shipped_hidden=shipped["hidden"],
                     shipped_epochs=shipped["epochs"], shipped_dataset=shipped["dataset"])


def better_time_only(ctx: TourContext, section: Section) -> None:
    """B-BW: a wider, longer time-only flow (only with --train)."""
    if not ctx.train:
        raise UserError("needs --train: a wider (D = 128) and longer (20 epochs) time-only flow takes hours on "
                        "a CPU and no such model is shipped")
    cfg = config(ctx, "flow").replace(**BETTER_TIME_ONLY)
    folder = trained(ctx, "flow", cfg, name="bw-flow-course")
    section.copy_figure(folder / "loss.png", "loss.png", f"Training loss of the better time-only flow "
                        f"({recipe_text(cfg)}).")
    for epoch in cfg.sample_epochs:
        section.copy_figure(epoch_file(folder, epoch), f"epoch-{epoch:03d}.png",
                            f"Samples after epoch {epoch} of {cfg.epochs} ({cfg.sample_steps} Euler steps).")
    run_params(section, ctx, "flow", cfg, folder)
    section.paragraph = paragraph("B-BW")

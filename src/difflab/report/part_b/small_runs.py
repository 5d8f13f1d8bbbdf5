"""Sections drawn from the Part B runs without class labels: the single-step and pure-noise denoisers
(B1.2.1–B1.2.3), the time-only DDPM and flow (B2.2, B2.3, -FM), the constant-lr class flow
(B2.6-noLR). Every figure is drawn now from the run's weights
after the epochs the course asks for (`runs.PartBRun`), and its loss curve from the recorded losses."""

from __future__ import annotations

from ...data import load_dataset
from ...training.outputs import draw_epoch_figure, save_loss_history
from ...training.partb import pure_noise_vs_mean, save_mean_comparison, save_ood_sweep
from ..prose import paragraph
from ..section import Section
from ..tour import TourContext
from .runs import PartBRun, describe, part_b_run, run_params, test_digits

MODEL_TEXT = {
    "denoise": "single-step denoiser (z = x + 0.5·ε → x)",
    "pure-noise": "pure-noise denoiser (z = ε → x)",
    "ddpm": "time-conditioned DDPM (ε-prediction)",
    "flow": "time-conditioned flow-matching UNet (velocity x1 − x0)",
    "flow-class-nolr": "class-conditioned flow with a constant learning rate",
}
SWEEP_SIGMAS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)  # training.partb.SIGMAS: the OOD figure (B1.2.2)


def grid_config(ctx: TourContext, run: PartBRun):
    """The run's own grid settings, or a smaller grid under --quick."""
    cfg = run.config
    if not ctx.quick:
        return cfg
    steps = 10 if cfg.kind == "flow" or cfg.num_train_steps % 10 == 0 else cfg.sample_steps
    return cfg.replace(samples=min(cfg.samples, 10), samples_per_class=min(cfg.samples_per_class, 1),
                       sample_steps=steps)


def draw_epochs(ctx: TourContext, section: Section, run: PartBRun, what: str, epochs) -> None:
    """One figure per epoch, drawn now from the run's snapshot with the same seeds each time."""
    cfg = grid_config(ctx, run)
    for epoch in epochs:
        net, spec = run.load(epoch)
        file = f"epoch-{epoch:03d}.png"
        draw_epoch_figure(section.path(file), net, cfg, spec, test_digits(ctx, run, 3),
                          f"{run.recipe}, epoch {epoch}")
        section.add_figure(file, f"{what} after {run.epoch_text(epoch)}; {describe(run)}.")
        for record in _image_records(cfg, epoch, run.recipe):
            section.record({"file": file, **record})
    run_params(section, run)
    section.params["sample epochs"] = list(epochs)
    if cfg.kind in ("ddpm", "flow"):
        section.params["sampler"] = f"{cfg.sample_steps} {'Euler' if cfg.kind == 'flow' else 'strided DDPM'} steps"
    section.seeds.append(cfg.sample_seed)


def _image_records(cfg, epoch: int, recipe: str) -> list[dict]:
    """One record per image of an epoch figure: its seed (sample_seed + i), its label, the weights it came from."""
    if cfg.kind == "denoise":
        return [{"index": i, "test_digit": i, "noise_seed": cfg.sample_seed, "epoch": epoch, "run": recipe}
                for i in range(3)]
    n = cfg.samples_per_class * 10 if cfg.class_conditioned else cfg.samples
    return [{"index": i, "seed": cfg.sample_seed + i, "epoch": epoch, "run": recipe,
             **({"label": i % 10, "guidance": cfg.guidance} if cfg.class_conditioned else {}),
             **({"steps": cfg.sample_steps} if cfg.kind in ("ddpm", "flow") else {})} for i in range(n)]


def loss_curve(ctx: TourContext, section: Section, recipe: str) -> None:
    """B1.2.1a, B1.2.3a, B2.2, B2.2-FM: a run's per-iteration training loss."""
    run = part_b_run(ctx, recipe)
    steps, losses = run.loss_history()
    save_loss_history(section.path("loss.png"), steps, losses, f"{run.recipe}: training loss")
    section.add_figure("loss.png", f"Training loss (MSE, per iteration, log scale) of the {MODEL_TEXT[recipe]} "
                       f"over its {len(steps):,} optimizer steps: {describe(run)}.")
    run_params(section, run)
    done = run.metrics
    section.params["final train loss"] = round(done["final_train_loss"], 5)
    for key in ("test_loss_ema", "test_loss_raw"):
        if key in done:
            section.params[key.replace("_", " ")] = round(done[key], 5)
    section.paragraph = paragraph(section.id, run.prose)


def denoiser_epoch(ctx: TourContext, section: Section, which: str) -> None:
    """B1.2.1b (which="first"), B1.2.1c ("last"): test digits through the denoiser after that epoch."""
    run = part_b_run(ctx, "denoise")
    epoch = min(run.snapshots) if which == "first" else run.last
    draw_epochs(ctx, section, run, f"Test digits, rows [input, noisy (σ = {run.config.sigma}), output],", [epoch])
    section.paragraph = paragraph("B1.2.1b/c", run.prose)


def denoiser_ood(ctx: TourContext, section: Section) -> None:
    """B1.2.2: the first test digit at σ = 0 … 1, noisy row over denoised row."""
    run = part_b_run(ctx, "denoise")
    seed = run.config.sample_seed
    save_ood_sweep(run.load()[0], test_digits(ctx, run, 1)[0], section.path("ood-sweep.png"), seed, overwrite=True)
    section.add_figure("ood-sweep.png", f"The first test digit noised at σ = {', '.join(map(str, SWEEP_SIGMAS))} "
                       f"(top, one ε, seed {seed}) and the denoiser's output after its last epoch (bottom); trained "
                       f"at σ = {run.config.sigma} only: {describe(run)}.")
    run_params(section, run)
    section.params["σ"] = list(SWEEP_SIGMAS)
    section.seeds.append(seed)
    section.paragraph = paragraph("B1.2.2", run.prose)


def pure_noise_epochs(ctx: TourContext, section: Section) -> None:
    """B1.2.3b: the pure-noise denoiser's outputs after the first and the last epoch."""
    run = part_b_run(ctx, "pure-noise")
    draw_epochs(ctx, section, run, f"Outputs D(ε) for {grid_config(ctx, run).samples} pure-noise inputs",
                [min(run.snapshots), run.last])
    section.paragraph = paragraph("B1.2.3b", run.prose)


def pure_noise_mean(ctx: TourContext, section: Section) -> None:
    """B1.2.3c: outputs beside the training-set mean, with RMS distances."""
    run = part_b_run(ctx, "pure-noise")
    cfg, seed = run.config, run.config.sample_seed
    train = ctx.cached(f"dataset:{cfg.dataset}:train", lambda: load_dataset(cfg.dataset, "train")).images
    comparison = pure_noise_vs_mean(run.load()[0], train[:cfg.train_images or None], 10, seed)
    save_mean_comparison(comparison, section.path("pure-noise-vs-mean.png"), overwrite=True)
    section.add_figure("pure-noise-vs-mean.png", f"Ten outputs D(ε) (seeds {seed}…{seed + 9}) beside the mean of "
                       f"the {len(train[:cfg.train_images or None]):,} training digits; {describe(run)}.")
    run_params(section, run)
    values = {"output_to_mean_rms": round(comparison.output_to_mean, 4),
              "digit_to_mean_rms": round(comparison.digit_to_mean, 4),
              "output_spread_rms": round(comparison.output_spread, 4)}
    section.params.update(values)
    section.seeds.append(seed)
    section.paragraph = paragraph("B1.2.3c", run.prose, **values)
    section.finish(metrics=values)


def time_only_samples(ctx: TourContext, section: Section, recipe: str) -> None:
    """B2.3 (recipe="ddpm"), B2.3-FM ("flow"): the same noise sampled after each sample epoch."""
    run = part_b_run(ctx, recipe)
    cfg = grid_config(ctx, run)
    seeds = f"seeds {cfg.sample_seed}…{cfg.sample_seed + cfg.samples - 1}"
    what = (f"{cfg.samples} DDPM samples ({cfg.sample_steps} strided steps of T = {cfg.num_train_steps}, {seeds})"
            if recipe == "ddpm" else f"{cfg.samples} flow samples ({cfg.sample_steps} Euler steps, {seeds})")
    draw_epochs(ctx, section, run, what, sorted(run.snapshots))
    section.paragraph = paragraph(section.id, run.prose)


def flow_nolr(ctx: TourContext, section: Section) -> None:
    """B2.6-noLR: a class-conditioned flow with a constant learning rate: its loss and final grid."""
    run = part_b_run(ctx, "flow-class-nolr")
    steps, losses = run.loss_history()
    save_loss_history(section.path("loss.png"), steps, losses, "flow-class-nolr: training loss")
    section.add_figure("loss.png", f"Training loss of the constant-lr class-conditioned flow: {describe(run)}.")
    cfg = grid_config(ctx, run)
    draw_epochs(ctx, section, run, f"{cfg.samples_per_class} samples per digit, CFG γ = {cfg.guidance:g}, "
                f"{cfg.sample_steps} Euler steps (seeds {cfg.sample_seed} + i),", [run.last])
    section.params["lr"] = f"{cfg.lr:g}, constant (no ExponentialLR)"
    section.paragraph = paragraph("B2.6-noLR", run.prose, lr=cfg.lr, epochs=cfg.epochs)

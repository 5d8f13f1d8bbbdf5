"""B2.5a/b, B2.5-FM, B2.6-FM: the class-conditioned DDPM and flow — the shipped `mnist-ddpm` and
`mnist-flow` (or, with --train, the course presets trained in this tour): their loss from the model
records, a 4-per-digit γ = 5 grid sampled now, and classifier-FID (beside its real-vs-real floor) and
class accuracy from N samples drawn now (`evaluation.sampled.sample_and_score`)."""

from __future__ import annotations

import json
from pathlib import Path

from ...checkpoints import load_model_file
from ...defaults import default_guidance
from ...models.registry import resolve_model_file
from ...training.tour_runs import THREADS
from ..prose import join, paragraph
from ..section import Section
from ..tour import TourContext
from .runs import config, epoch_file, trained

# Sampling the class-conditioned models now: (N for the metrics, sampling steps) per mode.
# The first 40 samples (labels i mod 10) are the 4-per-digit grid. Tests monkeypatch this.
EVAL = {"full": dict(n=100, flow_steps=30, ddpm_steps=30), "quick": dict(n=40, flow_steps=10, ddpm_steps=10)}
GAMMA = default_guidance("class")
COURSE = {"ddpm": "T = 300, D = 64, batch 128, Adam 1e-3, ExpLR, 20 epochs on MNIST",
          "flow": "D = 64, batch 64, Adam 1e-2, ExpLR, 10 epochs on MNIST"}


def class_model(ctx: TourContext, kind: str) -> tuple[str, str]:
    """(model name or file, how it was made) of the class-conditioned DDPM (kind="ddpm") or flow."""
    if ctx.train:
        recipe = f"{kind}-class"
        folder = trained(ctx, recipe, config(ctx, recipe))
        return str(folder / "model.safetensors"), f"trained in this tour with preset course-{recipe}"
    name = "mnist-ddpm" if kind == "ddpm" else "mnist-flow"
    return name, f"the shipped {name}"


def model_records(model: str) -> dict:
    """The records stored in a model file (training config, per-epoch losses, evaluations)."""
    return load_model_file(resolve_model_file(model))[2]


def _loss_history(ctx: TourContext, model: str, records: dict) -> tuple[list, list] | None:
    """(steps, losses) per iteration: the run's stats.jsonl under --train, else the model records (if shipped)."""
    if ctx.train:
        from ...training.outputs import read_loss_history
        return read_loss_history(Path(model).parent / "stats.jsonl")
    history = records.get("loss_history") or {}
    return (list(history["step"]), list(history["loss"])) if history.get("step") else None


def class_loss(ctx: TourContext, section: Section, kind: str) -> None:
    """B2.5a, B2.5-FM: the per-iteration loss (when recorded) and the per-epoch train and test loss."""
    from ...figures import save_curve
    model, origin = class_model(ctx, kind)
    records = model_records(model)
    cfg = records["train_config"]
    title = model if not ctx.train else cfg["preset"]
    per_step = _loss_history(ctx, model, records)
    if per_step:
        from ...training.outputs import save_loss_history
        save_loss_history(section.path("loss-per-step.png"), *per_step, title=f"{title}: loss per iteration")
        section.add_figure("loss-per-step.png", f"Per-iteration training loss of {origin} over all "
                           f"{len(per_step[0])} optimizer steps, with its running mean"
                           + ("." if ctx.train else ", from its model records."))
    epochs = records.get("epochs") or [json.loads(line) for line in
                                       (Path(model).parent / "epochs.jsonl").read_text().splitlines()]
    series = {"train loss (epoch mean)": [e["train_loss"] for e in epochs]}
    if all("test_loss_ema" in e for e in epochs):
        series["test loss, EMA weights"] = [e["test_loss_ema"] for e in epochs]
    save_curve(section.path("loss.png"), [e["epoch"] for e in epochs], series, xlabel="epoch", ylabel="MSE loss",
               log_y=True, title=f"{title}: loss per epoch")
    recipe = (f"D = {cfg['hidden']}, batch {cfg['batch_size']}, Adam {cfg['lr']:g}, {cfg['lr_schedule']} lr, "
              f"{cfg['epochs']} epochs on {cfg['dataset']}, p_uncond = {cfg['p_uncond']}")
    section.add_figure("loss.png", f"Training loss per epoch (mean over the epoch's iterations) and the held-out "
                       f"test loss of the EMA weights, of {origin} ({recipe}), from its model records. "
                       + ("" if per_step else "Per-iteration losses are not shipped with this model file."))
    section.params.update({"model": model, "origin": origin, "training": recipe, "course": COURSE[kind],
                           "final train loss": round(series["train loss (epoch mean)"][-1], 5)})
    section.seeds.append(cfg.get("seed", 0))
    section.paragraph = paragraph("B2.5a/B2.5-FM")


def _scored(ctx: TourContext, kind: str, model: str):
    """Samples of `model` drawn now and their scores, shared by the sections of one model."""
    def make():
        from ...data import load_dataset
        from ...evaluation.sampled import sample_and_score
        from ...models.registry import load_denoiser
        settings = dict(EVAL["quick" if ctx.quick else "full"])
        steps = settings["flow_steps" if kind == "flow" else "ddpm_steps"]
        denoiser = load_denoiser(model, device="cpu")
        ctx.log(f"tour: sampling {settings['n']} images from {model} ({steps} steps, γ = {GAMMA:g}) and scoring them")
        dataset = denoiser.spec.dataset
        real = ctx.cached(f"dataset:{dataset}:all", lambda: load_dataset(dataset, "all"))
        scored = sample_and_score(denoiser, real.images, settings["n"], steps, GAMMA, ctx.seed,
                                  threads=None if ctx.train else THREADS)
        return scored, dict(settings, steps=steps)
    return ctx.cached(f"partb-eval:{model}", make)


def class_samples(ctx: TourContext, section: Section, kind: str) -> None:
    """B2.5b, B2.6-FM: a 4-per-digit grid sampled now, scored with N samples against the real digits."""
    from ...figures import save_grid
    model, origin = class_model(ctx, kind)
    scored, settings = _scored(ctx, kind, model)
    samples, labels, result = scored.samples, scored.labels, scored.result
    per = min(4, len(samples) // 10)
    save_grid(samples[:10 * per], section.path("samples.png"), 10, col_labels=list(scored.class_names),
              title=f"{Path(model).stem if ctx.train else model}: {per} per digit, CFG γ = {GAMMA:g}")
    sampler = (f"{settings['steps']} Euler steps" if kind == "flow" else
               f"{settings['steps']} strided ancestral steps of T = 300")
    seeds = ctx.seeds(len(samples))
    section.add_figure("samples.png", f"{per} samples of every digit (columns) from {origin}, sampled now with "
                       f"{sampler} and classifier-free guidance u + {GAMMA:g}·(c − u); sample i has seed "
                       f"{ctx.seed} + i and label i mod 10.")
    shipped_note = ""
    if ctx.train:
        folder = Path(model).parent
        for epoch in json.loads((folder / "config.json").read_text())["sample_epochs"]:
            section.copy_figure(epoch_file(folder, epoch), f"epoch-{epoch:03d}.png",
                                f"The training run's own grid after epoch {epoch}.")
    else:
        shipped_note = paragraph("shipped-final-only", asked="5 and 20" if kind == "ddpm" else "1, 5 and 10",
                                 epochs=model_records(model).get("train_config", {}).get("epochs", "?"))
    metrics = {"classifier_fid": round(result.fid, 3), "classifier_fid_floor": round(result.fid_floor, 3),
               "class_accuracy": round(result.class_accuracy, 4), "kid": round(result.kid, 5),
               "kid_floor": round(result.kid_floor, 5)}
    section.params.update({"model": model, "origin": origin, "guidance": GAMMA, "sampler": sampler,
                           "evaluated samples": settings["n"],
                           "evaluation": f"{result.summary()} — computed now from these {settings['n']} "
                                         "samples against the shipped MNIST classifier",
                           "recorded evaluations": model_records(model).get("evaluations") or "none in the model file"})
    section.seeds.extend(seeds)
    for i, (seed, label) in enumerate(zip(seeds[:10 * per], labels.tolist())):
        section.record({"file": "samples.png", "index": i, "label": int(label), "seed": seed, "model": model,
                        "guidance": GAMMA, "steps": settings["steps"]})
    section.paragraph = join(shipped_note, paragraph("B2.5b/B2.6-FM", n=settings["n"], summary=result.summary()))
    section.finish(metrics=metrics)

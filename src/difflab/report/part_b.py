"""Part B deliverables of the tour (spec §3.2–3.7, rows B1.2.1a … B-BW of §4).

Where no model is shipped (the single-step and pure-noise denoisers, the time-only DDPM and flow,
the constant-lr flow) the tour trains one small run per recipe into ``<report>/work/<name>`` —
shared by every section that needs it (``ctx.cached``), resumed with `difflab.training.resume`
when an interrupted tour comes back. The settings are reduced from the course's so that all of
Part B fits in minutes on a 2-core CPU (`REDUCED`, `QUICK`); every caption says so and gives the
course's numbers beside. With ``--train`` the course presets are trained instead (hours on a CPU).

The class-conditioned sections (B2.5a/b, B2.5-FM, B2.6-FM) use the shipped `mnist-ddpm` and
`mnist-flow`: their per-epoch loss from the model records, a 4-per-digit γ = 5 grid sampled now,
and classifier-FID (beside its real-vs-real floor) and class accuracy from N samples drawn now.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..checkpoints import load_model_file
from ..errors import UserError
from ..models.registry import resolve_model_file
from .section import Section
from .tour import TourContext

# Reduced recipes: overrides of the quick-* presets (hidden, epochs, subset of mnist-5k, …).
# The default tour uses REDUCED, --quick uses QUICK; tests monkeypatch both.
# threads=1: on a shared 2-core CPU two torch threads contend and run up to 10× slower (measured).
THREADS = 1
_ONE_STEP = dict(hidden=16, batch_size=64, lr=1e-3, lr_schedule="constant", test_images=64)
REDUCED = {
    "denoise": dict(_ONE_STEP, epochs=5, train_images=2000, sample_epochs=(1, 5)),
    "pure-noise": dict(_ONE_STEP, epochs=5, train_images=2000, sample_epochs=(1, 5), samples=10),
    "ddpm": dict(hidden=16, batch_size=64, epochs=5, train_images=2000, sample_epochs=(1, 5), sample_steps=30,
                 samples=20, test_images=64),
    "flow": dict(hidden=16, batch_size=64, epochs=5, train_images=2000, sample_epochs=(1, 3, 5), sample_steps=20,
                 samples=20, test_images=64),
    "flow-class-nolr": dict(hidden=16, batch_size=64, epochs=5, train_images=2000, sample_epochs=(5,),
                            sample_steps=20, samples_per_class=2, test_images=64),
}
QUICK = {
    "denoise": dict(_ONE_STEP, epochs=2, train_images=640, sample_epochs=(1, 2)),
    "pure-noise": dict(_ONE_STEP, epochs=2, train_images=640, sample_epochs=(1, 2), samples=10),
    "ddpm": dict(hidden=16, batch_size=64, epochs=2, train_images=640, sample_epochs=(1, 2), sample_steps=10,
                 samples=10, test_images=32),
    "flow": dict(hidden=16, batch_size=64, epochs=2, train_images=640, sample_epochs=(1, 2), sample_steps=10,
                 samples=10, test_images=32),
    "flow-class-nolr": dict(hidden=16, batch_size=64, epochs=2, train_images=640, sample_epochs=(2,),
                            sample_steps=10, samples_per_class=1, test_images=32),
}
# Sampling the shipped class-conditioned models now: (N for the metrics, sampling steps) per mode.
# The first 40 samples (labels i mod 10) are the 4-per-digit grid.
EVAL = {"full": dict(n=100, flow_steps=30, ddpm_steps=30), "quick": dict(n=40, flow_steps=10, ddpm_steps=10)}
# --train: a better time-only model for B-BW (course flow, wider and longer).
BW_OVERRIDES = dict(hidden=128, epochs=20, sample_epochs=(1, 10, 20))

COURSE_TEXT = {
    "denoise": "D = 128, σ = 0.5, batch 256, Adam 1e-4, 5 epochs on all of MNIST",
    "pure-noise": "z = ε, D = 128, batch 256, Adam 1e-4, 5 epochs on all of MNIST",
    "ddpm": "T = 300, β 1e-4→0.02, D = 64, batch 128, Adam 1e-3, ExpLR 0.1^(1/20), 20 epochs on all of MNIST",
    "flow": "D = 64, batch 64, Adam 1e-2, ExpLR 0.1^(1/10), 10 epochs, 50 Euler steps, on all of MNIST",
    "flow-class-nolr": "as the class-conditioned flow (D = 64, batch 64, 10 epochs) without the scheduler",
}


# ----------------------------------------------------------------------------- training runs
def _config(ctx: TourContext, recipe: str):
    from ..training import resolve
    if ctx.train:
        return resolve(recipe, "course", dataset=ctx.dataset)
    table = QUICK if ctx.quick else REDUCED
    settings = dict(dict(seed=ctx.seed, sample_seed=ctx.seed, threads=THREADS), **table[recipe])
    return resolve(recipe, "quick", dataset=ctx.dataset, **settings)


def _mode(ctx: TourContext) -> str:
    return "course" if ctx.train else "quick" if ctx.quick else "reduced"


def training_run(ctx: TourContext, recipe: str, cfg=None, name: str | None = None) -> Path:
    """The finished run folder of `recipe` for this tour: trained, resumed, or found done."""
    cfg = cfg or _config(ctx, recipe)
    name = name or f"{recipe}-{_mode(ctx)}"

    def make() -> Path:
        from ..training import resume, train
        folder = ctx.work_dir(name)
        saved = folder / "config.json"
        if saved.is_file() and json.loads(saved.read_text()) != cfg.to_dict():
            shutil.rmtree(folder)  # settings changed since: start over
            folder.mkdir(parents=True)
        if (folder / "metrics.json").is_file():
            ctx.log(f"tour: {name}: training already finished in {folder}")
        elif saved.is_file():
            ctx.log(f"tour: {name}: resuming the training run in {folder}")
            resume(folder, quiet=ctx.quiet)
        else:
            ctx.log(f"tour: {name}: training ({_recipe_text(cfg)}) into {folder}")
            if any(folder.iterdir()):
                shutil.rmtree(folder)
                folder.mkdir(parents=True)
            train(cfg, out=folder, quiet=True)
        return folder
    return ctx.cached(f"partb-run:{name}", make)


def _recipe_text(cfg) -> str:
    subset = f"first {cfg.train_images} digits of {cfg.dataset}" if cfg.train_images else f"all of {cfg.dataset}"
    parts = [f"D = {cfg.hidden}", f"batch {cfg.batch_size}", f"Adam {cfg.lr:g}",
             "constant lr" if cfg.lr_schedule == "constant" else f"ExpLR ×{cfg.lr_decay:g} over the run",
             f"{cfg.epochs} epochs on the {subset}"]
    if cfg.kind == "denoise":
        parts.insert(0, f"σ = {cfg.sigma}")
    if cfg.kind == "ddpm":
        parts.insert(0, f"T = {cfg.num_train_steps}, β {cfg.beta_start:g}→{cfg.beta_end:g}")
    if cfg.class_conditioned:
        parts.append(f"p_uncond = {cfg.p_uncond}")
    if cfg.kind in ("ddpm", "flow"):
        parts.append(f"grids with {cfg.sample_steps} {'Euler' if cfg.kind == 'flow' else 'strided DDPM'} steps")
    return ", ".join(parts)


def _describe(ctx: TourContext, recipe: str, cfg) -> str:
    if ctx.train:
        return f"the course recipe ({_recipe_text(cfg)}; preset {cfg.preset}), trained in this tour (--train)"
    return (f"a run reduced to fit the tour ({_recipe_text(cfg)}; {'--quick' if ctx.quick else 'default tour'}); "
            f"the course's: {COURSE_TEXT[recipe]}")


def _params(section: Section, ctx: TourContext, recipe: str, cfg, folder: Path) -> None:
    metrics = json.loads((folder / "metrics.json").read_text())
    section.params.update({"recipe": f"{cfg.preset} + tour overrides" if not ctx.train else cfg.preset,
                           "training": _recipe_text(cfg), "course": COURSE_TEXT.get(recipe, cfg.preset),
                           "reduced": not ctx.train, "training seed": cfg.seed,
                           "EMA": cfg.ema_decay, "weights shown": cfg.export_weights,
                           "steps": metrics["steps"], "train time (s)": metrics["train_time_s"],
                           "run folder": str(folder.relative_to(ctx.report_dir))})
    section.seeds.append(cfg.seed)


def _copy(src: Path, section: Section, name: str) -> str:
    if not src.is_file():
        raise UserError(f"the training run did not write {src}")
    shutil.copyfile(src, section.path(name))
    return name


def _epoch_file(folder: Path, epoch: int) -> Path:
    for which in ("ema", "raw"):
        path = folder / "samples" / f"epoch-{epoch:03d}-{which}.png"
        if path.is_file():
            return path
    raise UserError(f"{folder} has no samples after epoch {epoch}")


def _loss_section(ctx: TourContext, section: Section, recipe: str, what: str) -> dict:
    cfg = _config(ctx, recipe)
    folder = training_run(ctx, recipe, cfg)
    _copy(folder / "loss.png", section, "loss.png")
    section.add_figure("loss.png", f"Training loss (MSE, per iteration, log scale) of the {what}: "
                       f"{_describe(ctx, recipe, cfg)}.")
    _params(section, ctx, recipe, cfg, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    section.params["final train loss"] = round(metrics["final_train_loss"], 5)
    for key in ("test_loss_ema", "test_loss_raw"):
        if key in metrics:
            section.params[key.replace("_", " ")] = round(metrics[key], 5)
    return metrics


def _epochs_section(ctx: TourContext, section: Section, recipe: str, what: str, epochs=None) -> None:
    cfg = _config(ctx, recipe)
    folder = training_run(ctx, recipe, cfg)
    for epoch in epochs or cfg.sample_epochs:
        name = _copy(_epoch_file(folder, epoch), section, f"epoch-{epoch:03d}.png")
        section.add_figure(name, f"{what} after epoch {epoch} of {cfg.epochs}; {_describe(ctx, recipe, cfg)}.",
                           scale=None)
    _params(section, ctx, recipe, cfg, folder)
    section.params["sample epochs"] = list(epochs or cfg.sample_epochs)
    section.seeds.extend([cfg.sample_seed])


# ----------------------------------------------------------------------------- B1.2.x: one-step denoiser
def denoiser_loss(ctx: TourContext, section: Section) -> None:
    """B1.2.1a."""
    _loss_section(ctx, section, "denoise", "single-step denoiser (z = x + 0.5·ε → x)")
    section.paragraph = (
        "The single-step denoiser is a plain UNet trained with MSE to map z = x + 0.5·ε back to x. Its loss "
        "falls fast in the first epoch and then flattens: what is left is the detail the noise has truly "
        "destroyed, which no denoiser can recover.")


def denoiser_epoch(first: bool):
    def run(ctx: TourContext, section: Section) -> None:
        cfg = _config(ctx, "denoise")
        epoch = cfg.sample_epochs[0] if first else cfg.epochs
        _epochs_section(ctx, section, "denoise", "Test digits, rows [input, noisy (σ = 0.5), output],", [epoch])
        section.paragraph = (
            "After one epoch the outputs are already clean digits, but blurred and a little faint; after the "
            "last epoch the strokes are sharper. The denoiser never saw these test digits."
            + ("" if epoch == (1 if first else 5) else
               f" (The course shows epoch {1 if first else 5}; this reduced run has {cfg.epochs} epochs.)"))
    return run


denoiser_epoch1, denoiser_final = denoiser_epoch(True), denoiser_epoch(False)


def denoiser_ood(ctx: TourContext, section: Section) -> None:
    """B1.2.2: the first test digit at σ = 0 … 1, noisy row over denoised row."""
    cfg = _config(ctx, "denoise")
    folder = training_run(ctx, "denoise", cfg)
    _copy(folder / "figures" / "ood-sweep.png", section, "ood-sweep.png")
    section.add_figure("ood-sweep.png", "The first test digit noised at σ = 0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0 (top, "
                       f"one ε, seed {cfg.sample_seed}) and the denoiser's output (bottom); trained at σ = 0.5 only: "
                       f"{_describe(ctx, 'denoise', cfg)}.")
    _params(section, ctx, "denoise", cfg, folder)
    section.params["σ"] = [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0]
    section.seeds.append(cfg.sample_seed)
    section.paragraph = (
        "Below σ = 0.5 the denoiser does well: a mildly noisy digit comes out clean. Above it the output "
        "degrades: at σ = 0.8 and 1.0 the denoiser, which only ever saw σ = 0.5, leaves blotches and broken "
        "strokes — it learned one noise level, not denoising in general.")


# ----------------------------------------------------------------------------- B1.2.3: pure noise
def pure_noise_loss(ctx: TourContext, section: Section) -> None:
    """B1.2.3a."""
    _loss_section(ctx, section, "pure-noise", "pure-noise denoiser (z = ε → x)")
    section.paragraph = (
        "With z = ε the input carries no information about the digit, so the loss cannot fall below the "
        "variance of the digits around their mean: it drops in the first steps and stays on a plateau.")


def pure_noise_epochs(ctx: TourContext, section: Section) -> None:
    """B1.2.3b."""
    cfg = _config(ctx, "pure-noise")
    _epochs_section(ctx, section, "pure-noise", f"Outputs D(ε) for {cfg.samples} pure-noise inputs",
                    [cfg.sample_epochs[0], cfg.epochs])
    section.paragraph = (
        "Every output is the same blurry blob whatever the noise: under an MSE loss the best prediction "
        "from an input that says nothing about x is E[x], the average training digit. The outputs after the "
        "first and the last epoch differ only in how close they have come to that average.")


def pure_noise_mean(ctx: TourContext, section: Section) -> dict:
    """B1.2.3c: outputs beside the training-set mean, with RMS distances."""
    cfg = _config(ctx, "pure-noise")
    folder = training_run(ctx, "pure-noise", cfg)
    _copy(folder / "figures" / "pure-noise-vs-mean.png", section, "pure-noise-vs-mean.png")
    metrics = json.loads((folder / "metrics.json").read_text())
    section.add_figure("pure-noise-vs-mean.png", "Ten outputs D(ε) (seeds "
                       f"{cfg.sample_seed}…{cfg.sample_seed + 9}) beside the mean of the training digits used; "
                       f"{_describe(ctx, 'pure-noise', cfg)}.")
    _params(section, ctx, "pure-noise", cfg, folder)
    values = {k: round(metrics[k], 4) for k in ("output_to_mean_rms", "digit_to_mean_rms", "output_spread_rms")}
    section.params.update(values)
    section.seeds.append(cfg.sample_seed)
    section.paragraph = (
        f"The outputs lie at RMS {values['output_to_mean_rms']:.3f} from the training-set mean, against "
        f"{values['digit_to_mean_rms']:.3f} for a real training digit, and differ from each other by only "
        f"{values['output_spread_rms']:.3f}: the network has learned the mean digit, the minimiser of the MSE "
        "when the input is independent of the target.")
    section.finish(metrics=values)
    return values


# ----------------------------------------------------------------------------- B2.x time-only
def ddpm_loss(ctx: TourContext, section: Section) -> None:
    """B2.2."""
    _loss_section(ctx, section, "ddpm", "time-conditioned DDPM (ε-prediction)")
    section.paragraph = ("The DDPM loss is the MSE of the predicted noise at a random t; it is noisy from step to "
                         "step because t is drawn afresh, and its running mean keeps falling through training.")


def ddpm_samples(ctx: TourContext, section: Section) -> None:
    """B2.3."""
    cfg = _config(ctx, "ddpm")
    _epochs_section(ctx, section, "ddpm", f"{cfg.samples} DDPM samples ({cfg.sample_steps} strided steps of "
                    f"T = {cfg.num_train_steps}, seeds {cfg.sample_seed}…{cfg.sample_seed + cfg.samples - 1})")
    section.paragraph = ("With the course's recipe early samples are blobs and broken strokes and later ones "
                         "mostly digit-like; the time-only model chooses the digit itself, and some samples are not "
                         "any digit at all — the reason for class conditioning." + _reduced_note(ctx, "ddpm", cfg))


def flow_loss(ctx: TourContext, section: Section) -> None:
    """B2.2-FM."""
    _loss_section(ctx, section, "flow", "time-conditioned flow-matching UNet (velocity x1 − x0)")
    section.paragraph = ("The flow-matching loss is the MSE of the predicted velocity x1 − x0 at a random t; it "
                         "starts near 1 and falls quickly, then slowly as the learning rate decays.")


def flow_samples(ctx: TourContext, section: Section) -> None:
    """B2.3-FM."""
    cfg = _config(ctx, "flow")
    _epochs_section(ctx, section, "flow", f"{cfg.samples} flow samples ({cfg.sample_steps} Euler steps, seeds "
                    f"{cfg.sample_seed}…{cfg.sample_seed + cfg.samples - 1})")
    section.paragraph = ("The same noise is integrated after each epoch, so the grids can be compared image by "
                         "image: the shapes sharpen from blobs into strokes as training goes on."
                         + _reduced_note(ctx, "flow", cfg))


COURSE_STEPS = {"ddpm": 20 * 469, "flow": 10 * 938}  # epochs × ceil(60,000 / batch) on full MNIST


def _reduced_note(ctx: TourContext, recipe: str, cfg) -> str:
    if ctx.train:
        return ""
    steps = cfg.epochs * -(-(cfg.train_images or 5000) // cfg.batch_size)
    return (f" This reduced run takes {steps} optimizer steps at D = {cfg.hidden}, against about "
            f"{COURSE_STEPS[recipe]:,} at D = 64 in the course: expect blotches rather than digits, and run "
            "`difflab tour --train` (or `difflab train course-" + recipe + "`) for the course's result. The "
            "class-conditioned models below are the shipped ones, trained for thousands of steps (their records "
            "give the recipe).")


# ----------------------------------------------------------------------------- class-conditioned
def _class_model(ctx: TourContext, kind: str) -> tuple[str, str]:
    """(model name or file, how it was made) of the class-conditioned DDPM or flow."""
    if ctx.train:
        recipe = "ddpm-class" if kind == "ddpm" else "flow-class"
        folder = training_run(ctx, recipe, _config(ctx, recipe))
        return str(folder / "model.safetensors"), f"trained in this tour with preset course-{recipe}"
    name = "mnist-ddpm" if kind == "ddpm" else "mnist-flow"
    return name, f"the shipped {name}"


def _records(model: str) -> dict:
    from ..checkpoints import load_model_file
    from ..models.registry import resolve_model_file
    return load_model_file(resolve_model_file(model))[2]


def _loss_history(ctx: TourContext, model: str, records: dict) -> tuple[list, list] | None:
    """(steps, losses) per iteration: the run's stats.jsonl under --train, else the model records (if shipped)."""
    if ctx.train:
        from ..training.outputs import read_loss_history
        return read_loss_history(Path(model).parent / "stats.jsonl")
    history = records.get("loss_history") or {}
    return (list(history["step"]), list(history["loss"])) if history.get("step") else None


def class_loss(kind: str):
    def run(ctx: TourContext, section: Section) -> None:
        from ..figures import save_curve
        model, origin = _class_model(ctx, kind)
        records = _records(model)
        cfg = records["train_config"]
        per_step = _loss_history(ctx, model, records)
        if per_step:
            from ..training.outputs import save_loss_history
            save_loss_history(section.path("loss-per-step.png"), *per_step,
                              title=f"{model if not ctx.train else cfg['preset']}: loss per iteration")
            section.add_figure("loss-per-step.png", f"Per-iteration training loss of {origin} over all "
                               f"{len(per_step[0])} optimizer steps, with its running mean"
                               + ("." if ctx.train else ", from its model records."))
        epochs = records.get("epochs") or [json.loads(line) for line in
                                           (Path(model).parent / "epochs.jsonl").read_text().splitlines()]
        xs = [e["epoch"] for e in epochs]
        series = {"train loss (epoch mean)": [e["train_loss"] for e in epochs]}
        if all("test_loss_ema" in e for e in epochs):
            series["test loss, EMA weights"] = [e["test_loss_ema"] for e in epochs]
        save_curve(section.path("loss.png"), xs, series, xlabel="epoch", ylabel="MSE loss", log_y=True,
                   title=f"{model if not ctx.train else cfg['preset']}: loss per epoch")
        recipe = (f"D = {cfg['hidden']}, batch {cfg['batch_size']}, Adam {cfg['lr']:g}, {cfg['lr_schedule']} lr, "
                  f"{cfg['epochs']} epochs on {cfg['dataset']}, p_uncond = {cfg['p_uncond']}")
        section.add_figure("loss.png", f"Training loss per epoch (mean over the epoch's iterations) and the "
                           f"held-out test loss of the EMA weights, of {origin} ({recipe}), from its model records. "
                           + ("" if per_step else "Per-iteration losses are not shipped with this model file."))
        section.params.update({"model": model, "origin": origin, "training": recipe,
                               "course": ("T = 300, D = 64, batch 128, Adam 1e-3, ExpLR, 20 epochs on MNIST"
                                          if kind == "ddpm" else
                                          "D = 64, batch 64, Adam 1e-2, ExpLR, 10 epochs on MNIST"),
                               "final train loss": round(series["train loss (epoch mean)"][-1], 5)})
        section.seeds.append(cfg.get("seed", 0))
        section.paragraph = ("The loss falls steeply over the first epochs and flattens as the learning rate "
                             "decays. The held-out test loss of the EMA weights keeps falling with it (it lies below "
                             "the training loss, which averages the raw weights over the whole epoch and includes "
                             "the label dropout), so the model does not overfit its training digits.")
    return run


def _evaluate(ctx: TourContext, kind: str, model: str) -> tuple:
    """(samples, labels, EvalResult, settings), shared by the sections of one model."""
    def make():
        import torch

        from ..commands.eval import _default_classifier, sample
        from ..data import load_dataset
        from ..evaluation import evaluate_samples, load_classifier
        from ..models.registry import load_denoiser
        settings = dict(EVAL["quick" if ctx.quick else "full"])
        steps = settings["flow_steps" if kind == "flow" else "ddpm_steps"]
        denoiser = load_denoiser(model, device="cpu")
        ctx.log(f"tour: sampling {settings['n']} images from {model} ({steps} steps, γ = 5) and scoring them")
        threads = torch.get_num_threads()
        torch.set_num_threads(threads if ctx.train else THREADS)
        try:
            samples, labels = sample(denoiser, settings["n"], 5.0, steps, ctx.seed, 250, True)
        finally:
            torch.set_num_threads(threads)
        classifier = load_classifier(_default_classifier(denoiser.spec.dataset))
        real = ctx.cached(f"dataset:{denoiser.spec.dataset}:all", lambda: load_dataset(denoiser.spec.dataset, "all"))
        result = evaluate_samples(classifier, samples, labels, real.images, seed=ctx.seed)
        return samples, labels, result, dict(settings, steps=steps), denoiser.class_names
    return ctx.cached(f"partb-eval:{model}", make)


def class_samples(kind: str):
    def run(ctx: TourContext, section: Section) -> dict:
        from ..figures import save_grid
        model, origin = _class_model(ctx, kind)
        samples, labels, result, settings, names = _evaluate(ctx, kind, model)
        per = min(4, len(samples) // 10)
        save_grid(samples[:10 * per], section.path("samples.png"), 10, col_labels=list(names),
                  title=f"{Path(model).stem if ctx.train else model}: {per} per digit, CFG γ = 5")
        sampler = (f"{settings['steps']} Euler steps" if kind == "flow" else
                   f"{settings['steps']} strided ancestral steps of T = 300")
        seeds = ctx.seeds(len(samples))
        section.add_figure("samples.png", f"{per} samples of every digit (columns) from {origin}, sampled now with "
                           f"{sampler} and classifier-free guidance u + 5·(c − u); sample i has seed {ctx.seed} + i "
                           f"and label i mod 10.", scale=None)
        if ctx.train:
            folder = Path(model).parent
            cfg = json.loads((folder / "config.json").read_text())
            for epoch in cfg["sample_epochs"]:
                name = _copy(_epoch_file(folder, epoch), section, f"epoch-{epoch:03d}.png")
                section.add_figure(name, f"The training run's own grid after epoch {epoch}.")
        else:
            _, _, records = load_model_file(resolve_model_file(model))
            epochs = records.get("train_config", {}).get("epochs", "?")
            section.paragraph = (
                f"The spec asks for grids after epochs {'5 and 20' if kind == 'ddpm' else '1, 5 and 10'}; "
                f"difflab ships the final weights of a {epochs}-epoch run only, so one grid of the final model "
                f"is shown. ")
        metrics = {"classifier_fid": round(result.fid, 3), "classifier_fid_floor": round(result.fid_floor, 3),
                   "class_accuracy": round(result.class_accuracy, 4), "kid": round(result.kid, 5),
                   "kid_floor": round(result.kid_floor, 5)}
        recorded = _records(model).get("evaluations") or []
        section.params.update({"model": model, "origin": origin, "guidance": 5.0, "sampler": sampler,
                               "evaluated samples": settings["n"],
                               "evaluation": f"{result.summary()} — computed now from these {settings['n']} "
                                             "samples against the shipped MNIST classifier",
                               "recorded evaluations": recorded or "none in the model file"})
        section.seeds.extend(seeds)
        for i, (seed, label) in enumerate(zip(seeds, labels.tolist())):
            if i < 10 * per:
                section.record({"file": "samples.png", "index": i, "label": int(label), "seed": seed,
                                "model": model, "guidance": 5.0, "steps": settings["steps"]})
        section.paragraph += (
            f"Scored on {settings['n']} samples drawn now (labels cycling 0–9): {result.summary()}. The FID "
            "is only meaningful beside its floor — two sets of real digits of the same size — and with N this small "
            "both are large; class accuracy says how often the classifier reads the digit that was asked for.")
        section.finish(metrics=metrics)
        return metrics
    return run


ddpm_class_loss, flow_class_loss = class_loss("ddpm"), class_loss("flow")
ddpm_class_samples, flow_class_samples = class_samples("ddpm"), class_samples("flow")


# ----------------------------------------------------------------------------- B2.6-noLR, B-BW
def flow_nolr(ctx: TourContext, section: Section) -> None:
    """B2.6-noLR: a class-conditioned flow with a constant learning rate."""
    cfg = _config(ctx, "flow-class-nolr")
    folder = training_run(ctx, "flow-class-nolr", cfg)
    _copy(folder / "loss.png", section, "loss.png")
    section.add_figure("loss.png", f"Training loss of the constant-lr class-conditioned flow: "
                       f"{_describe(ctx, 'flow-class-nolr', cfg)}.")
    name = _copy(_epoch_file(folder, cfg.epochs), section, "samples.png")
    section.add_figure(name, f"{cfg.samples_per_class} samples per digit after epoch {cfg.epochs}, CFG γ = "
                       f"{cfg.guidance}, {cfg.sample_steps} Euler steps (seeds {cfg.sample_seed} + i).")
    _params(section, ctx, "flow-class-nolr", cfg, folder)
    section.params["lr"] = f"{cfg.lr:g}, constant (no ExponentialLR)"
    section.paragraph = (
        f"Without the scheduler the learning rate stays at {cfg.lr:g} for the whole run: 1e-3 is the rate the "
        "scheduled course run ends on, so the late, fine steps are the same, while the early steps are ten times "
        "smaller than the scheduled 1e-2. The cost is a slower start; a constant 1e-2 instead keeps the loss "
        "noisy to the end and the samples grainy. Compare the samples with the scheduled, shipped mnist-flow "
        "of B2.6-FM." + ("" if ctx.train else _reduced_vs_shipped(cfg)))


def _reduced_vs_shipped(cfg) -> str:
    shipped = _records("mnist-flow")["train_config"]
    return (f" This run is reduced (D = {cfg.hidden}, {cfg.epochs} epochs on {cfg.train_images or 'all'} digits), so "
            f"it is far less trained than mnist-flow (D = {shipped['hidden']}, {shipped['epochs']} epochs on "
            f"{shipped['dataset']}) and the two grids differ mostly by training, not by the schedule; the fair "
            "comparison is `difflab tour --train`, which trains the course's constant-lr run.")


def better_time_only(ctx: TourContext, section: Section) -> None:
    """B-BW: a wider, longer time-only flow (only with --train)."""
    if not ctx.train:
        raise UserError("needs --train: a wider (D = 128) and longer (20 epochs) time-only flow takes hours on "
                        "a CPU and no such model is shipped")
    cfg = _config(ctx, "flow").replace(**BW_OVERRIDES)
    folder = training_run(ctx, "flow", cfg, name="bw-flow-course")
    _copy(folder / "loss.png", section, "loss.png")
    section.add_figure("loss.png", f"Training loss of the better time-only flow ({_recipe_text(cfg)}).")
    for epoch in cfg.sample_epochs:
        name = _copy(_epoch_file(folder, epoch), section, f"epoch-{epoch:03d}.png")
        section.add_figure(name, f"Samples after epoch {epoch} of {cfg.epochs} ({cfg.sample_steps} Euler steps).")
    _params(section, ctx, "flow", cfg, folder)
    section.paragraph = ("Twice the width and twice the epochs of the course's time-only flow: compare with B2.3-FM.")

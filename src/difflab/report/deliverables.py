"""Deliverables that need only what main has now: the seed (A0.2), the forward process (A1.1) and
the noising grid of Part B (B1.2). Each is ``run(ctx, section)`` as the tour registry expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..paths import DiscretePath, GaussianPath
from ..sampling import NoiseSource
from .figures import grid_figure, save_gif, save_png
from .inputs import inputs_for, load_input
from .section import Section
from .tour import TourContext

FORWARD_FRACTIONS = (0.25, 0.5, 0.75)  # of the way from data to noise: t = 250, 500, 750 when T = 1000
NOISING_SIGMAS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)  # spec §3.2


def seed_section(ctx: TourContext, section: Section) -> None:
    """A0.2: the one seed of the tour, and how every image derives its own generator from it."""
    section.seeds.append(ctx.seed)
    section.params.update({
        "seed": ctx.seed,
        "noise": "one torch.Generator per image, seeded with seed + its index; drawn on the CPU in float32",
        "reproduce": f"difflab tour --seed {ctx.seed}" + (" --quick" if ctx.quick else "")
                     + (f" --model {ctx.model}" if ctx.model else "")})
    section.paragraph = (
        f"Every figure of this report comes from the seed {ctx.seed}. The course asks for one seed, reported once "
        "and reused everywhere; difflab goes one step further and gives every image its own random generator, "
        "seeded with the tour's seed plus the image's index, so an image does not depend on the batch it was "
        "drawn in, nor on the device: noise is always drawn on the CPU.\n\n"
        "Each section lists the seeds behind its figures, and its records.jsonl holds the seed of every image.")


@dataclass(frozen=True)
class PartAModel:
    """What Part A needs to know of its model before running it: path, image shape, value range."""

    name: str
    path: GaussianPath
    image_shape: tuple[int, int, int]
    value_range: tuple[float, float]
    condition_kind: str


def part_a_model(ctx: TourContext) -> PartAModel:
    """The tour's Part A model, described without loading IF's weights (its path is known)."""
    def describe() -> PartAModel:
        from ..models.registry import is_deepfloyd, load_denoiser
        if is_deepfloyd(ctx.model):
            from ..paths import deepfloyd_path
            return PartAModel(f"{ctx.model} (stage I)", deepfloyd_path(), (3, 64, 64), (-1.0, 1.0), "text")
        model = load_denoiser(ctx.model, device=torch.device("cpu"))
        return PartAModel(ctx.model, model.path, tuple(model.image_shape), tuple(model.value_range),
                          model.condition_kind)
    return ctx.cached(f"part-a-model:{ctx.model}", describe)


def forward_times(path: GaussianPath, fractions=FORWARD_FRACTIONS) -> list:
    """Times that lie `fractions` of the way from data to noise: integer t on DDPM paths, t ∈ [0, 1] on flows."""
    if isinstance(path, DiscretePath):
        return [round(f * path.num_train_steps) for f in fractions]
    return [round(1 - f, 6) for f in fractions]  # the flow's t = 1 is data


def test_image_spec(ctx: TourContext, model) -> str:
    """The image Part A starts from: a test digit on 28-px digit models, the test photo otherwise."""
    spec = inputs_for(tuple(model.image_shape)).test
    return ctx.test_photo if model.condition_kind == "text" or spec.startswith("builtin:") else spec


def forward_process(ctx: TourContext, section: Section) -> None:
    """A1.1: x_t = alpha(t)·x0 + sigma(t)·eps for the test photo at three noise levels, and a GIF."""
    model = part_a_model(ctx)
    image = test_image_spec(ctx, model)
    x0 = load_input(image, model)
    times = forward_times(model.path)
    seeds = ctx.seeds(len(times))
    eps = NoiseSource(seeds).randn(x0.shape[1:])
    noisy = torch.cat([model.path.add_noise(x0, eps[i:i + 1], t) for i, t in enumerate(times)])
    save_png(grid_figure([torch.cat([x0, noisy])], model.value_range,
                         col_labels=["original"] + [f"t = {t}" for t in times]), section.path("forward.png"))
    alphas = [round(float(model.path.alpha(t)), 4) for t in times]
    sigmas = [round(float(model.path.sigma(t)), 4) for t in times]
    section.add_figure("forward.png", f"{image} ({_shape_text(model)}) and x_t = alpha(t)·x_0 + "
                       f"sigma(t)·eps at t = {', '.join(map(str, times))} on the {model.path.name} path of "
                       f"{model.name}; eps from seeds {', '.join(map(str, seeds))}, one per image.")
    for i, (t, seed) in enumerate(zip(times, seeds)):
        section.record({"file": "forward.png", "column": i + 1, "image": image, "model": model.name,
                        "path": model.path.name, "t": t, "alpha": alphas[i], "sigma": sigmas[i], "seed": seed})
    frames = ctx.pick(24, 8)
    sweep = forward_times(model.path, [k / frames for k in range(frames + 1)])
    if isinstance(model.path, DiscretePath):
        sweep[-1] = min(sweep[-1], len(model.path.alphas_cumprod) - 1)
    gif = [grid_figure([model.path.add_noise(x0, eps[:1], t)], model.value_range, col_labels=[f"t = {t}"])
           for t in sweep]
    save_gif(gif, section.path("forward.gif"))
    section.add_figure("forward.gif", f"The same photo swept from t = {sweep[0]} to t = {sweep[-1]} in {frames} "
                       f"steps with one noise image (seed {seeds[0]}).")
    section.seeds.extend(seeds)
    section.params.update({"model": model.name, "path": model.path.name, "image": image,
                           "size": _shape_text(model), "t": times, "alpha(t)": alphas, "sigma(t)": sigmas,
                           "GIF frames": frames + 1})
    section.paragraph = (
        "The forward process does not only add noise, it also shrinks the image: x_t = alpha(t)·x_0 + sigma(t)·eps "
        f"with alpha² + sigma² = 1 on DDPM paths. At t = {times[0]} the photo keeps {alphas[0]:.2f} of its "
        f"amplitude under noise of standard deviation {sigmas[0]:.2f} and is still plain to see; at t = {times[-1]} "
        f"it keeps {alphas[-1]:.2f} against {sigmas[-1]:.2f} and only its largest shapes survive. Undoing this is "
        "what every later section asks of the model.")


def _shape_text(model: PartAModel) -> str:
    c, h, w = model.image_shape
    low, high = model.value_range
    return f"{h}×{w}, {'RGB' if c == 3 else 'grey'}, values in [{low:g}, {high:g}]"


def noising_grid(ctx: TourContext, section: Section) -> None:
    """B1.2: z = x + σ·eps for five test digits and σ = 0 … 1 (spec §3.2), one eps per digit."""
    from ..data import load_dataset
    data = ctx.cached(f"dataset:{ctx.dataset}:test", lambda: load_dataset(ctx.dataset, "test"))
    count = 5
    x, labels = data.images[:count], data.labels[:count].tolist()
    seeds = ctx.seeds(count)
    eps = NoiseSource(seeds).randn(x.shape[1:])
    rows = [torch.cat([x[i:i + 1] + sigma * eps[i:i + 1] for sigma in NOISING_SIGMAS]) for i in range(count)]
    save_png(grid_figure(rows, (0.0, 1.0), col_labels=[f"sigma = {s}" for s in NOISING_SIGMAS],
                         row_labels=[data.class_names[c] for c in labels]), section.path("noising.png"))
    section.add_figure("noising.png", f"The first {count} digits of the {ctx.dataset} test split (rows) noised as "
                       f"z = x + σ·eps for σ = {', '.join(map(str, NOISING_SIGMAS))} (columns); one eps per digit "
                       f"(seeds {', '.join(map(str, seeds))}); shown clipped to [0, 1].")
    for i, (label, seed) in enumerate(zip(labels, seeds)):
        section.record({"file": "noising.png", "row": i + 1, "dataset": ctx.dataset, "split": "test", "index": i,
                        "label": int(label), "sigmas": list(NOISING_SIGMAS), "seed": seed})
    section.seeds.extend(seeds)
    section.params.update({"dataset": f"{ctx.dataset} (test split)", "digits": count,
                           "σ": list(NOISING_SIGMAS), "noise": "z = x + σ·eps, x in [0, 1], eps ~ N(0, I)"})
    section.paragraph = (
        "The single-step denoiser of Part B learns to undo z = x + σ·eps. At σ = 0.2 every digit is still easy to "
        "read; at σ = 0.5, the level the denoiser is trained at, the stroke is half-buried but its shape still "
        "stands out; at σ = 1.0 the noise is as strong as the ink and the digit is a guess.")

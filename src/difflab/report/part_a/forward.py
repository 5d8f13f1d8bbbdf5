"""A0.2 the seed, A1.1 the forward process, A1.2 the blur baseline and A1.3 one-step denoising.

A1.1 noises the test image at `defaults.FORWARD_FRACTIONS` of the way from data to noise (t = 250,
500, 750 on IF) with one seed per level; A1.2 and A1.3 start from exactly those noisy images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...defaults import FORWARD_FRACTIONS
from ...editing import one_step_denoise
from ...filters import best_blur, psnr
from ...paths import GaussianPath
from ...sampling import NoiseSource
from ..figures import grid_figure
from ..inputs import load_input
from ..prose import paragraph
from ..section import Section
from ..tour import TourContext
from .setup import PartA, one_thread, setup, single_threaded, test_image_spec


def seed_section(ctx: TourContext, section: Section) -> None:
    """A0.2: the one seed of the tour, and how every image derives its own generator from it."""
    section.seeds.append(ctx.seed)
    section.params.update({
        "seed": ctx.seed,
        "noise": "one torch.Generator per image, seeded with seed + its index; drawn on the CPU in float32",
        "reproduce": f"difflab tour --seed {ctx.seed}" + (" --quick" if ctx.quick else "")
                     + (f" --model {ctx.model}" if ctx.model else "")})
    section.paragraph = paragraph("A0.2", seed=ctx.seed)


@dataclass(frozen=True)
class PathModel:
    """What A1.1 needs of its model, known without loading IF's weights: path, image shape, value range."""

    name: str
    path: GaussianPath
    image_shape: tuple[int, int, int]
    value_range: tuple[float, float]
    condition_kind: str


def path_model(ctx: TourContext) -> PathModel:
    """The tour's Part A model, described without loading IF's weights (its path is known)."""
    def describe() -> PathModel:
        from ...models.registry import is_deepfloyd, load_denoiser
        if is_deepfloyd(ctx.model):
            from ...paths import deepfloyd_path
            return PathModel(f"{ctx.model} (stage I)", deepfloyd_path(), (3, 64, 64), (-1.0, 1.0), "text")
        model = load_denoiser(ctx.model, device=torch.device("cpu"))
        return PathModel(ctx.model, model.path, tuple(model.image_shape), tuple(model.value_range),
                         model.condition_kind)
    return ctx.cached(f"part-a-model:{ctx.model}", describe)


def forward_times(path: GaussianPath, fractions=FORWARD_FRACTIONS) -> list:
    """Times `fractions` of the way from data to noise: integer t on DDPM paths, t ∈ [0, 1] on flows."""
    return [round(path.time_at_noise(f), 6) for f in fractions]


def _shape_text(model: PathModel) -> str:
    c, h, w = model.image_shape
    low, high = model.value_range
    return f"{h}×{w}, {'RGB' if c == 3 else 'grey'}, values in [{low:g}, {high:g}]"


def forward_process(ctx: TourContext, section: Section) -> None:
    """A1.1: x_t = alpha(t)·x0 + sigma(t)·eps for the test photo at three noise levels, and a GIF."""
    model = path_model(ctx)
    image = test_image_spec(ctx, model)
    x0 = load_input(image, model)
    times = forward_times(model.path)
    seeds = ctx.seeds(len(times))
    eps = NoiseSource(seeds).randn(x0.shape[1:])
    noisy = torch.cat([model.path.add_noise(x0, eps[i:i + 1], t) for i, t in enumerate(times)])
    alphas = [round(float(model.path.alpha(t)), 4) for t in times]
    sigmas = [round(float(model.path.sigma(t)), 4) for t in times]
    section.save_figure(
        "forward.png", grid_figure([torch.cat([x0, noisy])], model.value_range,
                                   col_labels=["original"] + [f"t = {t}" for t in times]),
        f"{image} ({_shape_text(model)}) and x_t = alpha(t)·x_0 + sigma(t)·eps at t = {', '.join(map(str, times))} "
        f"on the {model.path.name} path of {model.name}; eps from seeds {', '.join(map(str, seeds))}, one per image.",
        records=[{"column": i + 1, "image": image, "model": model.name, "path": model.path.name, "t": t,
                  "alpha": alphas[i], "sigma": sigmas[i], "seed": seed}
                 for i, (t, seed) in enumerate(zip(times, seeds))])
    frames = ctx.pick(24, 8)
    sweep = [model.path.clean] + forward_times(model.path, [k / frames for k in range(1, frames + 1)])
    gif = [grid_figure([model.path.add_noise(x0, eps[:1], t)], model.value_range, col_labels=[f"t = {t}"])
           for t in sweep]
    section.save_figure("forward.gif", gif, f"The same photo swept from t = {sweep[0]} to t = {sweep[-1]} in "
                        f"{frames} steps with one noise image (seed {seeds[0]}).")
    section.seeds.extend(seeds)
    section.params.update({"model": model.name, "path": model.path.name, "image": image,
                           "size": _shape_text(model), "t": times, "alpha(t)": alphas, "sigma(t)": sigmas,
                           "GIF frames": frames + 1})
    section.paragraph = paragraph("A1.1", t_first=times[0], t_last=times[-1], alpha_first=alphas[0],
                                  alpha_last=alphas[-1], sigma_first=sigmas[0], sigma_last=sigmas[-1])


def forward_batch(ctx: TourContext, P: PartA):
    """The test image and its three noisy versions at the A1.1 times (one seed each, as A1.1 draws them)."""
    x0 = P.image(P.inputs.test)
    times = forward_times(P.model.path)
    seeds = ctx.seeds(len(times))
    eps = NoiseSource(seeds).randn(x0.shape[1:])
    noisy = torch.cat([P.model.path.add_noise(x0, eps[i:i + 1], t) for i, t in enumerate(times)])
    return x0, times, seeds, noisy


@single_threaded
def blur_baseline(ctx: TourContext, section: Section) -> None:
    """A1.2: each noisy image beside its best-PSNR Gaussian blur (an oracle search over kernel and σ)."""
    P = setup(ctx)
    x0, times, seeds, noisy = forward_batch(ctx, P)
    with one_thread():
        found = [best_blur(noisy[i:i + 1], x0, P.range) for i in range(len(times))]
    rows = [torch.cat([noisy[i:i + 1], best.image]) for i, best in enumerate(found)]
    text = "; ".join(f"t = {P.t_text(t)}: kernel {b.kernel_size}, σ = {b.sigma}, {b.psnr:.1f} dB "
                     f"(noisy {psnr(noisy[i:i + 1], x0, P.range).item():.1f} dB)"
                     for i, (t, b) in enumerate(zip(times, found)))
    section.save_figure(
        "blur.png", grid_figure(rows, P.range, col_labels=["noisy", "best blur"],
                                row_labels=[f"t = {P.t_text(t)}" for t in times]),
        f"{P.inputs.test} noised at the A1.1 times with the A1.1 seeds ( {', '.join(map(str, seeds))}) and the "
        f"Gaussian blur with the best PSNR against the original, searched over odd kernels 3–25 and σ 0.5–4: "
        f"{text}.",
        records=[{"row": i + 1, "image": P.inputs.test, "t": t, "kernel": b.kernel_size, "sigma": b.sigma,
                  "psnr_db": round(b.psnr, 2), "seed": s} for i, (t, b, s) in enumerate(zip(times, found, seeds))])
    section.seeds.extend(seeds)
    section.params.update({"image": P.inputs.test, "t": times, "kernel": [b.kernel_size for b in found],
                           "σ": [b.sigma for b in found], "PSNR (dB)": [round(b.psnr, 2) for b in found],
                           "search": "odd kernels 3–25, σ 0.5–4 by 0.25, best PSNR (sees the original)"})
    section.paragraph = paragraph("A1.2", P.key)


@single_threaded
def one_step(ctx: TourContext, section: Section) -> None:
    """A1.3: per A1.1 time, original, noisy and one-step x̂0 (unprompted condition, no CFG)."""
    P = setup(ctx)
    x0, times, seeds, noisy = forward_batch(ctx, P)
    prompt = P.conditions("unprompted")
    rows, scores = [], []
    with torch.inference_mode():
        for i, t in enumerate(times):
            est = one_step_denoise(P.model, noisy[i:i + 1], t, P.cond(prompt))
            scores.append(round(psnr(est, x0, P.range).item(), 2))
            rows.append(torch.cat([x0, noisy[i:i + 1], est]))
    section.save_figure(
        "one_step.png", grid_figure(rows, P.range, col_labels=["original", "noisy", "one-step"],
                                    row_labels=[f"t = {P.t_text(t)}" for t in times]),
        f"{P.inputs.test} noised at the A1.1 times with the A1.1 seeds ( {', '.join(map(str, seeds))}) and the "
        f"one-step estimate x̂0 from one model call under {P.label(prompt)}, no CFG; PSNR "
        f"{', '.join(f'{s} dB' for s in scores)}.",
        records=[{"row": i + 1, "image": P.inputs.test, "t": t, "condition": prompt, "psnr_db": scores[i],
                  "seed": s} for i, (t, s) in enumerate(zip(times, seeds))])
    section.seeds.extend(seeds)
    P.common_params(section)
    section.params.update({"image": P.inputs.test, "t": times, "condition": P.label(prompt), "PSNR (dB)": scores})
    section.paragraph = paragraph("A1.3", P.key)

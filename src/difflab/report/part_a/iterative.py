"""A1.4a/b: the course's iterative denoising from i_start = 10 (t = 690 on IF), frame by frame, and
its result beside one-step denoising and the best blur of the same noisy image (spec §2.6)."""

from __future__ import annotations

import torch

from ...defaults import ITERATIVE_I_START
from ...editing import forward_noise, iterative_denoise, one_step_denoise
from ...filters import best_blur, psnr
from ...sampling import NoiseSource
from ..figures import grid_figure
from ..prose import paragraph
from ..section import Section
from ..tour import TourContext
from .setup import PartA, one_thread, setup, single_threaded

EVERY = 5  # spec §2.6: the noisy image every 5th loop


def _from_i_start(ctx: TourContext, P: PartA) -> dict:
    """The test image noised to grid[i_start] and denoised three ways; shared by A1.4a and A1.4b."""
    def run():
        x0 = P.image(P.inputs.test)
        seeds = ctx.seeds(1)
        t = P.grid[ITERATIVE_I_START]
        noise = NoiseSource(seeds)
        cond = P.cond(P.conditions("unprompted"))
        den = P.denoiser(P.kind == "text")  # CFG on IF (from §1.6 on the course uses it; the null class: none)
        frames = []

        def keep(state):
            if state.index == ITERATIVE_I_START or (state.index - ITERATIVE_I_START) % EVERY == 0:
                frames.append((state.t, state.x_t.clone()))
        with torch.inference_mode():
            x_t = forward_noise(P.model.path, x0, t, noise)
            it = iterative_denoise(den, x_t, t, P.grid, noise, cond, hook=keep)
            one = one_step_denoise(den, x_t, t, cond)
        with one_thread():
            blur = best_blur(x_t, x0, P.range)
        return {"x0": x0, "seeds": seeds, "t": t, "x_t": x_t, "frames": frames, "it": it, "one": one, "blur": blur}
    return ctx.cached(f"a14:{ctx.model}:{ctx.seed}", run)


@single_threaded
def iterative_frames(ctx: TourContext, section: Section) -> None:
    """A1.4a: the noisy image every 5th loop of the iterative denoiser from i_start = 10."""
    P = setup(ctx)
    r = _from_i_start(ctx, P)
    ts = [t for t, _ in r["frames"]]
    section.save_figure(
        "loop.png", grid_figure([torch.cat([f for _, f in r["frames"]])], P.range,
                                col_labels=[f"t = {P.t_text(t)}" for t in ts]),
        f"{P.inputs.test} noised to t = {P.t_text(r['t'])} (i_start = {ITERATIVE_I_START}, seed {r['seeds'][0]}) "
        f"and denoised on the 33-step grid under {P.label(P.conditions('unprompted'))}; the image every "
        f"{EVERY}th loop, at t = {', '.join(P.t_text(t) for t in ts)}.",
        records=[{"column": k + 1, "image": P.inputs.test, "t": t, "seed": r["seeds"][0]} for k, t in enumerate(ts)])
    section.seeds.extend(r["seeds"])
    P.common_params(section, P.kind == "text")
    section.params.update({"i_start": ITERATIVE_I_START, "grid": "33 steps", "shown t": ts})
    section.params["loop steps"] = f"{len(P.grid) - 1 - ITERATIVE_I_START} of the 33-step grid"
    section.paragraph = paragraph("A1.4a", P.key)


@single_threaded
def iterative_compare(ctx: TourContext, section: Section) -> None:
    """A1.4b: original, iterative, one-step and blurred, all from the same t = grid[10] image."""
    P = setup(ctx)
    r = _from_i_start(ctx, P)
    images = [r["x0"], r["x_t"], r["it"], r["one"], r["blur"].image]
    names = ["original", "noisy", "iterative", "one-step", "blurred"]
    scores = [round(psnr(im, r["x0"], P.range).item(), 2) for im in images]
    section.save_figure(
        "compare.png", grid_figure([torch.cat(images)], P.range, col_labels=names),
        f"From the same noisy image (t = {P.t_text(r['t'])}, seed {r['seeds'][0]}): iterative denoising "
        f"({len(P.grid) - 1 - ITERATIVE_I_START} loops), one-step x̂0, and the best Gaussian blur (kernel "
        f"{r['blur'].kernel_size}, σ = {r['blur'].sigma}); PSNR against the original "
        + ", ".join(f"{n} {s} dB" for n, s in zip(names[1:], scores[1:])) + ".",
        records=[{"column": k + 1, "what": n, "psnr_db": s, "seed": r["seeds"][0]}
                 for k, (n, s) in enumerate(zip(names, scores))])
    section.seeds.extend(r["seeds"])
    P.common_params(section, P.kind == "text")
    section.params.update({"t": r["t"], "PSNR (dB)": dict(zip(names[1:], scores[1:]))})
    section.paragraph = paragraph("A1.4b", P.key)

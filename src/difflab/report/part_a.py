"""Part A deliverables (spec §4, rows A0.1 and A1.2 … A-BW) as ``run(ctx, section)`` for the tour.

Every function works on any Part A model: DeepFloyd IF (``condition_kind == "text"``: the FA24
staff prompts, "a high quality photo" as the unprompted condition, CFG γ = 7) and the course
models (``"class"``: digits as conditions, the null class as the unprompted one, CFG γ = 5).

Time grids: grid indices (i_start) always refer to the 33-step grid of `GaussianPath.grid`, so
i_start = 10 is t = 690 on IF and t = 10/33 on a flow model, and every loop runs on that grid as the
course's do. Under ``--quick`` loops continue from the same noisy image on an 8-step grid: the noise
level of every edit is still the course's, only the number of steps back differs. A1.4 shows the
course's loop itself and always runs on the 33-step grid.

Every deliverable runs on one thread (`_single_threaded`): on a shared 2-core CPU, two threads per
small 28-px batch were 20× slower than one.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import torch

from ..editing import (
    forward_noise,
    inpaint,
    iterative_denoise,
    one_step_denoise,
    sample,
)
from ..filters import best_blur, downsample, psnr, scaled_blur
from ..guidance import GuidedDenoiser
from ..illusions.anagrams import MultiViewDenoiser, view_clean
from ..illusions.hybrids import FactorizedDenoiser
from ..illusions.views import get_view
from ..sampling import NoiseSource
from ..defaults import GRID_STEPS as DEFAULT_STEPS
from .deliverables import forward_times, test_image_spec
from .figures import auto_zoom, grid_figure, save_png
from .inputs import Inputs, inputs_for, load_input
from .section import Section
from .tour import TourContext

SDEDIT_LEVELS = (1, 3, 5, 7, 10, 20)  # spec §2.9
A14_START, A14_EVERY = 10, 5  # spec §2.6: i_start = 10, the noisy image every 5th loop
GUIDANCE = {"text": 7.0, "class": 5.0}  # spec §2.8 (IF) and the course models' B2.5 value

TEXT = {  # FA24 staff prompts (spec §2.0, §7)
    "unprompted": "a high quality photo",
    "sampling": ("an oil painting of a snowy mountain village", "a man wearing a hat", "a rocket ship"),
    "cfg": ("a high quality photo",) * 5,
    "img2img": "a rocket ship",
    "anagram": ("an oil painting of an old man", "an oil painting of people around a campfire", "flip", 0),
    "anagrams": (("an oil painting of a snowy mountain village", "an oil painting of an old man", "flip", 1),
              ("a photo of a dog", "an oil painting of people around a campfire", "flip", 2)),
    "hybrid": ("a lithograph of a skull", "a lithograph of waterfalls"),
    "hybrids": (("a rocket ship", "a pencil"), ("a photo of a man", "a photo of a dog")),
    "bw": (("an oil painting of an old man", "a photo of a dog", "negate", 3),
        ("a lithograph of waterfalls", "an oil painting of a snowy mountain village", "jigsaw", 4)),
}
CLASS = {  # digits: the staff pairs have no digit counterpart, so pairs that suit each view
    "unprompted": None,
    "sampling": ("0", "4", "8"),
    "cfg": ("0", "1", "2", "3", "4"),
    "img2img": "8",
    # (upright, through the view, view, seed offset): on digits the offset is the seed among the tour's
    # first six (seed + 0 … 5) whose result reads best, picked by looking at mnist-flow's samples
    "anagram": ("6", "9", "rot180", 2),
    "anagrams": (("1", "7", "rot180", 2), ("2", "5", "rot180", 1)),
    "hybrid": ("0", "1"),
    "hybrids": (("8", "3"), ("7", "1")),
    "bw": (("1", "0", "negate", 0), ("1", "7", "jigsaw", 1)),
}


@contextmanager
def _one_thread():
    """Tiny convolutions (the blur search) run far faster on one thread than on contended several."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _best_blur(noisy, clean, value_range):
    with _one_thread():
        return best_blur(noisy, clean, value_range)


def _single_threaded(run):
    """A deliverable run on one thread: 28-px batches of a few images gain nothing from more, and on a
    shared CPU several threads spin against each other (measured: 0.15 s a call on one, 3 s on two)."""
    @functools.wraps(run)
    def wrapped(ctx: TourContext, section: Section) -> None:
        with _one_thread():
            return run(ctx, section)
    return wrapped


@dataclass
class PartA:
    """The loaded model and the settings every Part A deliverable shares."""

    model: object
    kind: str  # "text" or "class" (or "none" for an unconditional model)
    grid: list  # the 33-step index grid
    loop_grid: list  # the grid loops run on (the index grid on IF, coarser on course models)
    steps: int
    gamma: float | None
    inputs: Inputs
    prompts: dict
    images: dict = field(default_factory=dict)

    @property
    def range(self):
        return tuple(self.model.value_range)

    @property
    def size(self) -> int:
        return self.model.image_shape[1]

    def cond(self, prompt, n: int = 1):
        """n rows of the condition of `prompt` (None = the null condition); None for unconditional models."""
        if self.kind == "none":
            return None
        return self.model.encode([prompt] * n)

    def denoiser(self, guided: bool):
        """The model, with CFG when `guided` and the model has conditions."""
        if guided and self.gamma is not None and self.gamma != 1:
            return GuidedDenoiser(self.model, self.gamma)
        return self.model

    def image(self, spec: str) -> torch.Tensor:
        if spec not in self.images:
            self.images[spec] = load_input(spec, self.model)
        return self.images[spec]

    def label(self, prompt) -> str:
        if self.kind == "text":
            return f'"{prompt}"'
        return "the null class" if prompt is None else f"class {prompt}"

    def t_text(self, t) -> str:
        return str(t) if isinstance(t, int) else f"{t:.3f}".rstrip("0").rstrip(".")


def setup(ctx: TourContext) -> PartA:
    def make() -> PartA:
        from ..models.registry import load_denoiser
        model = load_denoiser(ctx.model, device=torch.device("cpu") if not torch.cuda.is_available() else None)
        kind = model.condition_kind
        text = kind == "text"
        grid = model.path.grid(DEFAULT_STEPS)
        steps = ctx.pick(DEFAULT_STEPS, 8)
        loop_grid = grid if steps == DEFAULT_STEPS else model.path.grid(steps)
        gamma = None if kind == "none" else GUIDANCE.get(kind, 1.0)
        inputs = replace(inputs_for(tuple(model.image_shape)), test=test_image_spec(ctx, model))
        return PartA(model, kind, grid, loop_grid, steps, gamma, inputs, TEXT if text else CLASS)
    with torch.inference_mode():
        return ctx.cached(f"part-a:{ctx.model}:{ctx.quick}", make)


def _common_params(P: PartA, section: Section, guided: bool = False) -> None:
    section.params.update({"model": getattr(P.model, "name", "?"), "path": P.model.path.name,
                           "loop steps": f"{P.steps} ({'the 33-step grid' if P.loop_grid is P.grid else '--quick: coarser than the 33-step index grid'})"})
    if guided:
        section.params["CFG γ"] = P.gamma


def _t(P: PartA, i: int):
    return P.grid[i]


def _edit_strip(P: PartA, x: torch.Tensor, seeds: list[int], prompt, guided: bool) -> list[torch.Tensor]:
    """SDEdit of x (N images, one seed each) at every level: noise to grid[i], denoise to clean."""
    den = P.denoiser(guided and (prompt is not None or P.kind == "text"))
    cond = P.cond(prompt, x.shape[0])
    out = []
    for i in SDEDIT_LEVELS:
        t = _t(P, i)
        noise = NoiseSource(seeds)
        x_t = forward_noise(P.model.path, x, t, noise)
        out.append(iterative_denoise(den, x_t, t, P.loop_grid, noise, cond))
    return out


def _strip_section(ctx: TourContext, section: Section, specs: list[str], prompt, what: str, offset: int) -> None:
    P = setup(ctx)
    guided = prompt is not None or P.kind == "text"
    x = torch.cat([P.image(s) for s in specs])
    seeds = ctx.seeds(len(specs), offset)
    with torch.inference_mode():
        edits = _edit_strip(P, x, seeds, prompt, guided)
    labels = ["original"] + [f"i={i}" for i in SDEDIT_LEVELS]
    rows = [torch.cat([x[k:k + 1]] + [e[k:k + 1] for e in edits]) for k in range(len(specs))]
    save_png(grid_figure(rows, P.range, col_labels=labels), section.path("sdedit.png"))
    times = [P.t_text(_t(P, i)) for i in SDEDIT_LEVELS]
    gtext = f"CFG γ = {P.gamma}" if guided and P.gamma else "no CFG (the null class gains nothing from it)"
    section.add_figure("sdedit.png", f"{what}: {', '.join(specs)} (row by row; seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}), "
                       f"noised to i_start = {', '.join(map(str, SDEDIT_LEVELS))} of the 33-step grid "
                       f"(t = {', '.join(times)}) and denoised under {P.label(prompt)}, {gtext}, "
                       f"{P.steps}-step loop grid.")
    for k, spec in enumerate(specs):
        for j, i in enumerate(SDEDIT_LEVELS):
            section.record({"file": "sdedit.png", "row": k + 1, "column": j + 2, "image": spec, "i_start": i,
                            "t": _t(P, i), "condition": prompt, "guidance": P.gamma if guided else None,
                            "seed": seeds[k]})
    section.seeds.extend(seeds)
    _common_params(P, section, guided)
    section.params.update({"images": specs, "condition": P.label(prompt), "i_start": list(SDEDIT_LEVELS),
                           "t": [round(_t(P, i), 4) for i in SDEDIT_LEVELS]})
    start = ("Left to right the edit starts from less and less noise, so the output keeps more and more of the "
             "input. ")
    if P.kind == "class":
        body = ("On 28-px digits, noise of standard deviation near 1 hides a thin stroke much sooner than it hides a "
                "photo: on mnist-flow the columns up to i_start = 10 (t ≤ 10/33) ignore the input and show the same "
                "sample for the same seed, and only i_start = 20 keeps the input's shape. The model knows only "
                "digits, so any input — a photo, a drawing — is pulled toward a digit-like shape. "
                + ("This model's DDPM sampler adds fresh noise at every step, so its early columns differ from one "
                   "another and more of the input can survive the mid levels. " if P.model.path.kind == "discrete"
                   else ""))
    else:
        body = ("At i_start = 1 almost nothing of the input survives and the model draws a new photo; by i_start = 10 "
                "the input's layout decides the result, and at i_start = 20 the output is the input, cleaned. ")
    pulled = ("Each edit is pulled toward " + P.label(prompt) + ": the early columns show it, the late ones keep "
              "the input." if prompt is not None else "")
    section.paragraph = (start + body + pulled).strip()


# ---------------------------------------------------------------- A0.1, A1.5, A1.6: sampling

@_single_threaded
def sampling_steps(ctx: TourContext, section: Section) -> None:
    """A0.1: three prompts (classes) at two step counts, CFG as from A1.6 on."""
    P = setup(ctx)
    counts = ctx.pick((5, 20), (2, 4)) if P.kind != "text" or ctx.quick else (20, 50)
    prompts = list(P.prompts["sampling"])
    seeds = ctx.seeds(len(prompts))
    rows = []
    with torch.inference_mode():
        den = P.denoiser(True)
        for n in counts:
            grid = P.model.path.grid(n)
            cond = torch.cat([P.cond(p) for p in prompts]) if P.kind != "none" else None
            rows.append(sample(den, grid, NoiseSource(seeds), cond))
    save_png(grid_figure(rows, P.range, col_labels=[P.label(p).strip('"')[:28] for p in prompts],
                         row_labels=[f"{n} steps" for n in counts]), section.path("samples.png"))
    section.add_figure("samples.png", f"One sample per {'prompt' if P.kind == 'text' else 'class'} "
                       f"({', '.join(P.label(p) for p in prompts)}; seeds {', '.join(map(str, seeds))}, the same "
                       f"noise in both rows) with {' and '.join(map(str, counts))} steps, CFG γ = {P.gamma}.")
    for r, n in enumerate(counts):
        for c, (p, s) in enumerate(zip(prompts, seeds)):
            section.record({"file": "samples.png", "row": r + 1, "column": c + 1, "condition": p, "steps": n,
                            "guidance": P.gamma, "seed": s})
    section.seeds.extend(seeds)
    _common_params(P, section, True)
    section.params.update({"conditions": prompts, "steps": list(counts)})
    low, high = P.range
    change = ((rows[0] - rows[1]).abs().mean() / (high - low)).item()
    section.params["mean |difference| between the rows"] = round(change, 4)
    section.paragraph = (
        f"Each column starts from the same noise in both rows, so the rows differ only by the step count: the mean "
        f"absolute pixel difference between them is {100 * change:.1f}% of the value range. "
        + ("With few steps the sampler takes large jumps and the images are rougher; with more the prompt's "
           "details appear." if P.kind == "text" else
           ("A flow's Euler steps follow nearly straight paths, so few steps already land close to the many-step "
            "result; what both rows get wrong is the model's, not the sampler's." if P.model.path.kind != "discrete"
            else "DDPM's stochastic steps change the sample more with the step count than a flow's would."))
        + " Seeds are reported in the captions and reused by every later section.")


def _five_samples(ctx: TourContext, section: Section, guided: bool) -> None:
    P = setup(ctx)
    prompts = list(P.prompts["cfg"]) if guided else [P.prompts["unprompted"]] * 5
    seeds = ctx.seeds(5)
    with torch.inference_mode():
        cond = torch.cat([P.cond(p) for p in prompts]) if P.kind != "none" else None
        x = sample(P.denoiser(guided), P.loop_grid, NoiseSource(seeds), cond)
    save_png(grid_figure([x], P.range, col_labels=[f"seed {s}" for s in seeds]), section.path("samples.png"))
    what = ", ".join(dict.fromkeys(P.label(p) for p in prompts))
    gtext = f"CFG γ = {P.gamma} against the null condition" if guided else "no CFG"
    section.add_figure("samples.png", f"5 samples from pure noise (i_start = 0, {P.steps} steps) under {what}, "
                       f"{gtext}; seeds {', '.join(map(str, seeds))}.")
    for k, (p, s) in enumerate(zip(prompts, seeds)):
        section.record({"file": "samples.png", "column": k + 1, "condition": p, "guidance": P.gamma if guided else None,
                        "steps": P.steps, "seed": s})
    section.seeds.extend(seeds)
    _common_params(P, section, guided)
    section.params["conditions"] = prompts
    if not guided:
        section.paragraph = (
            "Without guidance the samples are what the course calls \"not spectacular, but reasonable\": "
            + ("plausible photo textures with weak structure." if P.kind == "text" else
               "under the null class the model draws from its whole training distribution, so some samples are "
               "clear digits and others are blotches between two digits."))
    else:
        section.paragraph = (
            f"Classifier-free guidance ε = ε_u + γ(ε_c − ε_u) with γ = {P.gamma} "
            + ("(the course's value for IF) gives sharper, more photo-like images than A1.5, at the cost of diversity."
               if P.kind == "text" else
               "(5 on class-conditioned course models, the value Part B uses; γ = 7 is IF's). \"A high quality photo\" "
               "has no digit counterpart — guiding the null class toward itself changes nothing — so each sample is "
               "guided toward a class (0–4); the digits are bolder and more legible than A1.5's unguided ones."))


@_single_threaded
def samples_unguided(ctx: TourContext, section: Section) -> None:
    """A1.5: 5 samples, no CFG ("a high quality photo" on IF, the null class on course models)."""
    _five_samples(ctx, section, guided=False)


@_single_threaded
def samples_cfg(ctx: TourContext, section: Section) -> None:
    """A1.6: 5 samples with CFG (γ = 7 on IF, 5 on class models)."""
    _five_samples(ctx, section, guided=True)


# ---------------------------------------------------------------- A1.2, A1.3, A1.4: denoising

def _forward_batch(ctx: TourContext, P: PartA):
    """The test image and its three noisy versions at the A1.1 times (one seed each, as A1.1 draws them)."""
    x0 = P.image(P.inputs.test)
    times = forward_times(P.model.path)
    seeds = ctx.seeds(len(times))
    eps = NoiseSource(seeds).randn(x0.shape[1:])
    noisy = torch.cat([P.model.path.add_noise(x0, eps[i:i + 1], t) for i, t in enumerate(times)])
    return x0, times, seeds, noisy


@_single_threaded
def blur_baseline(ctx: TourContext, section: Section) -> None:
    """A1.2: each noisy image beside its best-PSNR Gaussian blur (an oracle search over kernel and σ)."""
    P = setup(ctx)
    x0, times, seeds, noisy = _forward_batch(ctx, P)
    rows, found = [], []
    for i, t in enumerate(times):
        best = _best_blur(noisy[i:i + 1], x0, P.range)
        found.append(best)
        rows.append(torch.cat([noisy[i:i + 1], best.image]))
    labels = [f"t = {P.t_text(t)}" for t in times]
    save_png(grid_figure(rows, P.range, col_labels=["noisy", "best blur"], row_labels=labels), section.path("blur.png"))
    text = "; ".join(f"t = {P.t_text(t)}: kernel {b.kernel_size}, σ = {b.sigma}, {b.psnr:.1f} dB "
                     f"(noisy {psnr(noisy[i:i + 1], x0, P.range).item():.1f} dB)" for i, (t, b) in enumerate(zip(times, found)))
    section.add_figure("blur.png", f"{P.inputs.test} noised at the A1.1 times with the A1.1 seeds ( {', '.join(map(str, seeds))}) and the "
                       f"Gaussian blur with the best PSNR against the original, searched over odd kernels 3–25 and "
                       f"σ 0.5–4: {text}.")
    for i, (t, b, s) in enumerate(zip(times, found, seeds)):
        section.record({"file": "blur.png", "row": i + 1, "image": P.inputs.test, "t": t, "kernel": b.kernel_size,
                        "sigma": b.sigma, "psnr_db": round(b.psnr, 2), "seed": s})
    section.seeds.extend(seeds)
    section.params.update({"image": P.inputs.test, "t": times, "kernel": [b.kernel_size for b in found],
                           "σ": [b.sigma for b in found], "PSNR (dB)": [round(b.psnr, 2) for b in found],
                           "search": "odd kernels 3–25, σ 0.5–4 by 0.25, best PSNR (sees the original)"})
    section.paragraph = (
        "Even the best blur — chosen by looking at the clean original, which a real denoiser cannot — only trades "
        "noise for smear: it gains a few dB at the mildest level and little at the strongest, where the noise is "
        "as large as the picture. This is the baseline the diffusion model's one-step estimate is compared with.")


@_single_threaded
def one_step(ctx: TourContext, section: Section) -> None:
    """A1.3: per A1.1 time, original, noisy and one-step x̂0 (unprompted condition, no CFG)."""
    P = setup(ctx)
    x0, times, seeds, noisy = _forward_batch(ctx, P)
    prompt = P.prompts["unprompted"]
    rows, scores = [], []
    with torch.inference_mode():
        for i, t in enumerate(times):
            est = one_step_denoise(P.model, noisy[i:i + 1], t, P.cond(prompt))
            scores.append(round(psnr(est, x0, P.range).item(), 2))
            rows.append(torch.cat([x0, noisy[i:i + 1], est]))
    save_png(grid_figure(rows, P.range, col_labels=["original", "noisy", "one-step"],
                         row_labels=[f"t = {P.t_text(t)}" for t in times]), section.path("one_step.png"))
    section.add_figure("one_step.png", f"{P.inputs.test} noised at the A1.1 times with the A1.1 seeds ( {', '.join(map(str, seeds))}) and "
                       f"the one-step estimate x̂0 from one model call under {P.label(prompt)}, no CFG; PSNR "
                       f"{', '.join(f'{s} dB' for s in scores)}.")
    for i, (t, s) in enumerate(zip(times, seeds)):
        section.record({"file": "one_step.png", "row": i + 1, "image": P.inputs.test, "t": t, "condition": prompt,
                        "psnr_db": scores[i], "seed": s})
    section.seeds.extend(seeds)
    _common_params(P, section)
    section.params.update({"image": P.inputs.test, "t": times, "condition": P.label(prompt), "PSNR (dB)": scores})
    section.paragraph = (
        "One model call inverts x_t = α·x0 + σ·ε with the predicted noise. At the mildest level the estimate is "
        "close to the original and far better than A1.2's blur; as t grows it becomes a blurred average of "
        "everything the noisy image could have been"
        + (", drifting from the input toward a generic digit." if P.kind == "class" else ", losing the fine detail."))


def _a14(ctx: TourContext, P: PartA):
    def run():
        x0 = P.image(P.inputs.test)
        seeds = ctx.seeds(1)
        t = _t(P, A14_START)
        noise = NoiseSource(seeds)
        cond = P.cond(P.prompts["unprompted"])
        den = P.denoiser(P.kind == "text")  # CFG on IF (from §1.6 on the course uses it; the null class: none)
        frames = []
        with torch.inference_mode():
            x_t = forward_noise(P.model.path, x0, t, noise)

            def keep(state):
                if state.index == A14_START or (state.index - A14_START) % A14_EVERY == 0:
                    frames.append((state.t, state.x_t.clone()))
            it = iterative_denoise(den, x_t, t, P.grid, noise, cond, hook=keep)
            one = one_step_denoise(den, x_t, t, cond)
        blur = _best_blur(x_t, x0, P.range)
        return {"x0": x0, "seeds": seeds, "t": t, "x_t": x_t, "frames": frames, "it": it, "one": one, "blur": blur}
    return ctx.cached(f"a14:{ctx.model}:{ctx.seed}", run)


@_single_threaded
def iterative_frames(ctx: TourContext, section: Section) -> None:
    """A1.4a: the noisy image every 5th loop of the iterative denoiser from i_start = 10."""
    P = setup(ctx)
    r = _a14(ctx, P)
    frames = r["frames"]
    save_png(grid_figure([torch.cat([f for _, f in frames])], P.range,
                         col_labels=[f"t = {P.t_text(t)}" for t, _ in frames]), section.path("loop.png"))
    ts = [t for t, _ in frames]
    section.add_figure("loop.png", f"{P.inputs.test} noised to t = {P.t_text(r['t'])} (i_start = {A14_START}, "
                       f"seed {r['seeds'][0]}) and denoised on the 33-step grid under {P.label(P.prompts['unprompted'])}; "
                       f"the image every {A14_EVERY}th loop, at t = {', '.join(P.t_text(t) for t in ts)}.")
    for k, t in enumerate(ts):
        section.record({"file": "loop.png", "column": k + 1, "image": P.inputs.test, "t": t, "seed": r["seeds"][0]})
    section.seeds.extend(r["seeds"])
    _common_params(P, section, P.kind == "text")
    section.params.update({"i_start": A14_START, "grid": "33 steps", "shown t": ts})
    section.params["loop steps"] = f"{len(P.grid) - 1 - A14_START} of the 33-step grid"
    section.paragraph = ("Each loop removes part of the noise: the first frames are mostly noise, the middle ones "
                         "show the shape emerging, the last is nearly clean.")


@_single_threaded
def iterative_compare(ctx: TourContext, section: Section) -> None:
    """A1.4b: original, iterative, one-step and blurred, all from the same t = grid[10] image."""
    P = setup(ctx)
    r = _a14(ctx, P)
    images = [r["x0"], r["x_t"], r["it"], r["one"], r["blur"].image]
    names = ["original", "noisy", "iterative", "one-step", "blurred"]
    scores = [round(psnr(im, r["x0"], P.range).item(), 2) for im in images]
    save_png(grid_figure([torch.cat(images)], P.range, col_labels=names), section.path("compare.png"))
    section.add_figure("compare.png", f"From the same noisy image (t = {P.t_text(r['t'])}, seed {r['seeds'][0]}): "
                       f"iterative denoising (23 loops), one-step x̂0, and the best Gaussian blur (kernel "
                       f"{r['blur'].kernel_size}, σ = {r['blur'].sigma}); PSNR against the original "
                       + ", ".join(f"{n} {s} dB" for n, s in zip(names[1:], scores[1:])) + ".")
    for k, (n, s) in enumerate(zip(names, scores)):
        section.record({"file": "compare.png", "column": k + 1, "what": n, "psnr_db": s, "seed": r["seeds"][0]})
    section.seeds.extend(r["seeds"])
    _common_params(P, section, P.kind == "text")
    section.params.update({"t": r["t"], "PSNR (dB)": dict(zip(names[1:], scores[1:]))})
    section.paragraph = (
        "The iterative result is sharp — it is a sample, not an average — but it need not match the original: "
        "from this much noise the model invents details, so its PSNR can be below the one-step estimate's, which is "
        "blurry but close on average. The blur keeps the noise's texture and loses the shape."
        + (" On the digit model this noise level already hides the thin stroke of the test digit, so the iterative "
           "result is a different, invented digit-like shape." if P.kind == "class" else ""))


# ---------------------------------------------------------------- A1.7: SDEdit, web, drawn, inpainting, img2img

@_single_threaded
def sdedit_test(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _strip_section(ctx, section, [P.inputs.test], P.prompts["unprompted"], "SDEdit of the test image", 0)


@_single_threaded
def sdedit_own(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _strip_section(ctx, section, list(P.inputs.own), P.prompts["unprompted"], "SDEdit of two more images", 1)


@_single_threaded
def sdedit_web(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _strip_section(ctx, section, [P.inputs.web], P.prompts["unprompted"], "SDEdit of a web image", 0)


@_single_threaded
def sdedit_drawn(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _strip_section(ctx, section, list(P.inputs.drawn), P.prompts["unprompted"], "SDEdit of two hand-drawn images", 1)


@_single_threaded
def img2img_test(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _strip_section(ctx, section, [P.inputs.test], P.prompts["img2img"], "Conditioned image-to-image translation", 0)


@_single_threaded
def img2img_own(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _strip_section(ctx, section, list(P.inputs.own), P.prompts["img2img"], "Conditioned image-to-image translation", 1)


def _mask(P: PartA, box) -> torch.Tensor:
    top, left, h, w = box
    scale = P.size / (28 if P.inputs.test.startswith("digit:") else 64)  # masks are given at 28 or 64 px
    top, left, h, w = (max(1, round(v * scale)) if k >= 2 else round(v * scale) for k, v in enumerate(box))
    m = torch.zeros(1, 1, P.size, P.size)
    m[..., top:top + h, left:left + w] = 1
    return m


def _inpaint_section(ctx: TourContext, section: Section, specs: list[str], boxes, offset: int) -> None:
    P = setup(ctx)
    x = torch.cat([P.image(s) for s in specs])
    masks = torch.cat([_mask(P, b) for b in boxes])
    seeds = ctx.seeds(len(specs), offset)
    prompt = P.prompts["unprompted"]
    guided = P.kind == "text"
    with torch.inference_mode():
        out = inpaint(P.denoiser(guided), x, masks, P.loop_grid, NoiseSource(seeds), P.cond(prompt, len(specs)))
    low = P.range[0]
    hole = x * (1 - masks) + low * masks
    rows = [torch.cat([x[k:k + 1], (low + (P.range[1] - low) * masks[k:k + 1]).expand_as(x[k:k + 1]),
                       hole[k:k + 1], out[k:k + 1]]) for k in range(len(specs))]
    save_png(grid_figure(rows, P.range, col_labels=["original", "mask", "hole", "inpainted"]), section.path("inpaint.png"))
    section.add_figure("inpaint.png", f"{', '.join(specs)}: the mask (white = regenerate), the image with the hole, "
                       f"and the RePaint result from pure noise ({P.steps} steps, {P.label(prompt)}, "
                       f"{'CFG γ = ' + str(P.gamma) if guided else 'no CFG'}; seeds {', '.join(map(str, seeds))}). "
                       f"Masks (top, left, height, width) in pixels: {', '.join(map(str, boxes))}.")
    for k, (spec, box, s) in enumerate(zip(specs, boxes, seeds)):
        section.record({"file": "inpaint.png", "row": k + 1, "image": spec, "mask": list(box), "condition": prompt,
                        "seed": s})
    section.seeds.extend(seeds)
    _common_params(P, section, guided)
    section.params.update({"images": specs, "masks": [list(b) for b in boxes], "mask note": P.inputs.mask_note})
    section.paragraph = (
        "Outside the mask every step is reset to the original noised to the current level, so the kept pixels "
        "come back exactly; inside, the model fills the hole so that it agrees with its surroundings"
        + (" — on digits usually by completing a stroke, sometimes into a different digit." if P.kind == "class"
           else "."))


@_single_threaded
def inpaint_test(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _inpaint_section(ctx, section, [P.inputs.test], [P.inputs.test_mask], 0)


@_single_threaded
def inpaint_own(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    _inpaint_section(ctx, section, list(P.inputs.own), list(P.inputs.own_masks), 1)


# ---------------------------------------------------------------- A1.8, A1.9, A-BW: illusions

def _anagrams(ctx: TourContext, section: Section, specs, note: str) -> None:
    P = setup(ctx)
    triples = [spec[:3] for spec in specs]
    seeds = [ctx.seeds(1, spec[3])[0] for spec in specs]
    rows, labels = [], []
    with torch.inference_mode():
        for (p1, p2, view_name), seed in zip(triples, seeds):
            view = get_view(view_name)
            base = P.denoiser(True)
            den = MultiViewDenoiser(base, [get_view("identity"), view], [P.cond(p1), P.cond(p2)])
            x = sample(den, P.loop_grid, NoiseSource([seed]))
            rows.append(torch.cat([x, view_clean(view, x, P.range)]))
            labels.append(f"{p1[:20]} / {p2[:20]}" if P.kind == "text" else f"{p1} / {p2}")
    save_png(grid_figure(rows, P.range, col_labels=["as drawn", "through the view"], row_labels=labels),
             section.path("anagrams.png"))
    parts = [f"{P.label(p1)} as drawn and {P.label(p2)} through {v} (seed {s})" for (p1, p2, v), s in zip(triples, seeds)]
    section.add_figure("anagrams.png", f"Visual anagrams from pure noise ({P.steps} steps, CFG γ = {P.gamma} in every "
                       f"branch; the two branches' predictions averaged after undoing the view): " + "; ".join(parts) + ".")
    for k, ((p1, p2, v), s) in enumerate(zip(triples, seeds)):
        section.record({"file": "anagrams.png", "row": k + 1, "prompts": [p1, p2], "views": ["identity", v],
                        "guidance": P.gamma, "seed": s})
    section.seeds.extend(seeds)
    _common_params(P, section, True)
    section.params.update({"anagrams": [f"{p1} | {p2} via {v}" for p1, p2, v in triples]})
    section.paragraph = note


@_single_threaded
def anagram_staff(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    note = ("The staff pair: upright an old man, upside down people around a campfire." if P.kind == "text" else
            "The staff's old man / campfire pair has no digit counterpart; 6 and 9 are the pair a 180° rotation "
            "already relates, so the two branches can agree: on the shipped mnist-flow the sample reads as a 6 "
            "upright and a 9 rotated. It shows the mechanism works on this model, not that it can hide two unrelated "
            "digits. The seed (the tour's seed + 2) was picked by eye among the first few.")
    _anagrams(ctx, section, [P.prompts["anagram"]], note)


@_single_threaded
def anagram_more(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    note = ("Two more pairs of the staff prompts, each upright and flipped." if P.kind == "text" else
            "Two harder pairs under a 180° rotation: 1 / 7 and 2 / 5. A 28-px digit has little room to serve two "
            "unrelated readings, and on the shipped mnist-flow these mostly fail: the 1/7 comes out as a 1 both "
            "ways (a rotated 1 is still a 1, so that branch wins; the 7 is at most a hook), the 2/5 as a tangle "
            "that hints at a 2 upright and a 5 rotated, each crossed by strokes of the other. They are shown as "
            "the honest limit of anagrams at this size; the 6/9 of A1.8a is the one that works.")
    _anagrams(ctx, section, list(P.prompts["anagrams"]), note)


@_single_threaded
def anagram_views(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    note = ("Bells & whistles: two more views of the Visual Anagrams paper — colour negation and a 4×4 jigsaw "
            "permutation. The course logo is not made here. "
            + ("On the shipped mnist-flow the negate view carries both digits: as drawn a light 1 sits on a dark "
               "oval, and negated that oval becomes a thick light 0 with the 1 as its dark hole. The background, "
               "which every digit shares and negation inverts, belongs to neither branch and stays noisy. The 4×4 "
               "jigsaw gives loose strokes with a hint of each digit. Both views are exact permutations (or a sign "
               "flip), so the mechanism is right; 28 px is the limit."
               if P.kind == "class" else "Negation swaps light and dark, so one prompt lives in the shadows of the other."))
    _anagrams(ctx, section, list(P.prompts["bw"]), note)


def _hybrids(ctx: TourContext, section: Section, pairs, offset: int, note: str) -> None:
    P = setup(ctx)
    seeds = ctx.seeds(len(pairs), offset)
    k, s = scaled_blur(P.size)
    factor = 2 if P.size <= 32 else 4
    out = []
    with torch.inference_mode():
        for (far, near), seed in zip(pairs, seeds):
            den = FactorizedDenoiser(P.denoiser(True), P.cond(far), P.cond(near))
            out.append(sample(den, P.loop_grid, NoiseSource([seed])))
    x = torch.cat(out)
    labels = [f"{a[:18]} / {b[:18]}" for a, b in pairs]
    zoom = auto_zoom(P.size)
    save_png(grid_figure([x], P.range, col_labels=labels, zoom=zoom), section.path("hybrids.png"))
    save_png(grid_figure([downsample(x, factor)], P.range, zoom=zoom), section.path("hybrids_small.png"))
    parts = [f"{P.label(a)} from afar, {P.label(b)} close up (seed {sd})" for (a, b), sd in zip(pairs, seeds)]
    section.add_figure("hybrids.png", "Hybrids at full size: " + "; ".join(parts) + f". Each step takes the low "
                       f"frequencies (Gaussian blur, kernel {k}, σ = {s:g}: the course's 33 / 2 scaled to {P.size} px) "
                       f"of the first condition's prediction and the rest of the second's; {P.steps} steps, "
                       f"CFG γ = {P.gamma}.")
    section.add_figure("hybrids_small.png", f"The same hybrids at 1/{factor} size (area average): what one sees from afar.")
    for j, ((a, b), sd) in enumerate(zip(pairs, seeds)):
        section.record({"file": "hybrids.png", "column": j + 1, "low": a, "high": b, "kernel": k, "sigma": s,
                        "guidance": P.gamma, "seed": sd})
    section.seeds.extend(seeds)
    _common_params(P, section, True)
    section.params.update({"pairs (far / close)": [f"{a} / {b}" for a, b in pairs], "blur kernel": k, "blur σ": s})
    section.paragraph = note


@_single_threaded
def hybrid_staff(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    note = ("The staff pair: a skull from afar, waterfalls up close." if P.kind == "text" else
            "The skull / waterfalls pair has no digit counterpart; a 0 from afar and a 1 close up stand in. With the "
            "course's blur scaled to 28 px (kernel 15, σ 0.875) the low band holds almost the whole shape of a digit "
            "and the high band only stroke edges, so on mnist-flow the far digit dominates: a 0 with at most a faint "
            "trace of the 1. A stronger blur would give the close-up digit more room; the tour keeps the course's.")
    _hybrids(ctx, section, [P.prompts["hybrid"]], 0, note)


@_single_threaded
def hybrid_more(ctx: TourContext, section: Section) -> None:
    P = setup(ctx)
    note = ("Two more hybrids of the staff prompts." if P.kind == "text" else
            "Two more digit pairs (far / close): 8 / 3 and 7 / 1, chosen because they share strokes. As in A1.9a the "
            "far digit dominates at 28 px: on mnist-flow the 8 / 3 is an 8 (a 3 is the right half of an 8, so "
            "nothing is left for the close-up digit to add), and the 7 / 1 a 7 whose stem is the 1.")
    _hybrids(ctx, section, list(P.prompts["hybrids"]), 1, note)

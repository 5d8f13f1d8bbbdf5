"""A0.1, A1.5, A1.6: samples from pure noise — three conditions at two step counts, then five
samples without and with classifier-free guidance u + γ·(c − u) (spec §2.7, §2.8)."""

from __future__ import annotations

import torch

from ...editing import sample
from ...sampling import NoiseSource
from ..figures import grid_figure
from ..prose import paragraph
from ..section import Section
from ..tour import TourContext
from .setup import setup, single_threaded


@single_threaded
def sampling_steps(ctx: TourContext, section: Section) -> None:
    """A0.1: three prompts (classes) at two step counts, CFG as from A1.6 on."""
    P = setup(ctx)
    counts = ctx.pick((5, 20), (2, 4)) if P.kind != "text" or ctx.quick else (20, 50)
    prompts = list(P.conditions("sampling"))
    seeds = ctx.seeds(len(prompts))
    with torch.inference_mode():
        den = P.denoiser(True)
        cond = torch.cat([P.cond(p) for p in prompts]) if P.kind != "none" else None
        rows = [sample(den, P.model.path.grid(n), NoiseSource(seeds), cond) for n in counts]
    section.save_figure(
        "samples.png", grid_figure(rows, P.range, col_labels=[P.label(p).strip('"')[:28] for p in prompts],
                                   row_labels=[f"{n} steps" for n in counts]),
        f"One sample per {'prompt' if P.kind == 'text' else 'class'} ({', '.join(P.label(p) for p in prompts)}; "
        f"seeds {', '.join(map(str, seeds))}, the same noise in both rows) with {' and '.join(map(str, counts))} "
        f"steps, CFG γ = {P.gamma}.",
        records=[{"row": r + 1, "column": c + 1, "condition": p, "steps": n, "guidance": P.gamma, "seed": s}
                 for r, n in enumerate(counts) for c, (p, s) in enumerate(zip(prompts, seeds))])
    section.seeds.extend(seeds)
    P.common_params(section, True)
    section.params.update({"conditions": prompts, "steps": list(counts)})
    low, high = P.range
    change = ((rows[0] - rows[1]).abs().mean() / (high - low)).item()
    section.params["mean |difference| between the rows"] = round(change, 4)
    section.paragraph = paragraph("A0.1", P.key, change_pct=100 * change)


@single_threaded
def five_samples(ctx: TourContext, section: Section, guided: bool) -> None:
    """A1.5 (guided=False): 5 samples under the unprompted condition, no CFG; A1.6 (guided=True): 5 samples
    with CFG (γ = 7 on IF toward "a high quality photo", 5 on class models toward the classes 0–4)."""
    P = setup(ctx)
    prompts = list(P.conditions("cfg")) if guided else [P.conditions("unprompted")] * 5
    seeds = ctx.seeds(5)
    with torch.inference_mode():
        cond = torch.cat([P.cond(p) for p in prompts]) if P.kind != "none" else None
        x = sample(P.denoiser(guided), P.loop_grid, NoiseSource(seeds), cond)
    what = ", ".join(dict.fromkeys(P.label(p) for p in prompts))
    gtext = f"CFG γ = {P.gamma} against the null condition" if guided else "no CFG"
    section.save_figure(
        "samples.png", grid_figure([x], P.range, col_labels=[f"seed {s}" for s in seeds]),
        f"5 samples from pure noise (i_start = 0, {P.steps} steps) under {what}, {gtext}; "
        f"seeds {', '.join(map(str, seeds))}.",
        records=[{"column": k + 1, "condition": p, "guidance": P.gamma if guided else None, "steps": P.steps,
                  "seed": s} for k, (p, s) in enumerate(zip(prompts, seeds))])
    section.seeds.extend(seeds)
    P.common_params(section, guided)
    section.params["conditions"] = prompts
    section.paragraph = paragraph("A1.6" if guided else "A1.5", P.key, gamma=P.gamma)

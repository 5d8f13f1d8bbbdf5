"""A1.8, A1.9, A-BW: visual anagrams (two conditions, one seen through a view) and hybrids (the low
frequencies of one condition's prediction, the high ones of another's) — spec §2.10, §2.11."""

from __future__ import annotations

import torch

from ...editing import sample
from ...filters import downsample
from ...illusions.anagrams import MultiViewDenoiser, view_clean
from ...illusions.hybrids import FactorizedDenoiser, hybrid_blur, own_hybrid_blur
from ...illusions.views import get_view
from ...sampling import NoiseSource
from ..figures import auto_zoom, grid_figure
from ..prose import paragraph
from ..section import Section
from ..tour import TourContext
from .setup import setup, single_threaded


@single_threaded
def anagrams(ctx: TourContext, section: Section, conditions: str) -> None:
    """A1.8a/b, A-BW: one anagram per (upright, through the view, view, seed offset) of the role."""
    P = setup(ctx)
    specs = P.conditions(conditions)
    triples = [spec[:3] for spec in specs]
    seeds = [ctx.seeds(1, spec[3])[0] for spec in specs]
    rows, labels = [], []
    with torch.inference_mode():
        for (p1, p2, view_name), seed in zip(triples, seeds):
            view = get_view(view_name)
            den = MultiViewDenoiser(P.denoiser(True), [get_view("identity"), view], [P.cond(p1), P.cond(p2)])
            x = sample(den, P.loop_grid, NoiseSource([seed]))
            rows.append(torch.cat([x, view_clean(view, x, P.range)]))
            labels.append(f"{p1[:20]} / {p2[:20]}" if P.kind == "text" else f"{p1} / {p2}")
    parts = [f"{P.label(p1)} as drawn and {P.label(p2)} through {v} (seed {s})"
             for (p1, p2, v), s in zip(triples, seeds)]
    section.save_figure(
        "anagrams.png", grid_figure(rows, P.range, col_labels=["as drawn", "through the view"], row_labels=labels),
        f"Visual anagrams from pure noise ({P.steps} steps, CFG γ = {P.gamma} in every branch; the two branches' "
        f"predictions averaged after undoing the view): " + "; ".join(parts) + ".",
        records=[{"row": k + 1, "prompts": [p1, p2], "views": ["identity", v], "guidance": P.gamma, "seed": s}
                 for k, ((p1, p2, v), s) in enumerate(zip(triples, seeds))])
    section.seeds.extend(seeds)
    P.common_params(section, True)
    section.params.update({"anagrams": [f"{p1} | {p2} via {v}" for p1, p2, v in triples]})
    section.paragraph = paragraph(section.id, P.key)


@single_threaded
def hybrids(ctx: TourContext, section: Section, conditions: str, seed_offset: int) -> None:
    """A1.9a/b: one hybrid per (far, close) pair of the role, at full size and at 1/2 or 1/4 size."""
    P = setup(ctx)
    pairs = P.conditions(conditions)
    seeds = ctx.seeds(len(pairs), seed_offset)
    k, s = hybrid_blur(P.model)
    origin = (f"this model's own; the course's 33 / 2 scaled to {P.size} px leaves the close-up prompt only edges"
              if own_hybrid_blur(P.model) else f"the course's 33 / 2 scaled to {P.size} px")
    factor = 2 if P.size <= 32 else 4
    with torch.inference_mode():
        x = torch.cat([sample(FactorizedDenoiser(P.denoiser(True), P.cond(far), P.cond(near)), P.loop_grid,
                              NoiseSource([seed])) for (far, near), seed in zip(pairs, seeds)])
    zoom = auto_zoom(P.size)
    parts = [f"{P.label(a)} from afar, {P.label(b)} close up (seed {sd})" for (a, b), sd in zip(pairs, seeds)]
    section.save_figure(
        "hybrids.png", grid_figure([x], P.range, col_labels=[f"{a[:18]} / {b[:18]}" for a, b in pairs], zoom=zoom),
        "Hybrids at full size: " + "; ".join(parts) + f". Each step takes the low frequencies (Gaussian blur, "
        f"kernel {k}, σ = {s:g}: {origin}) of the first condition's prediction and the rest of the second's; "
        f"{P.steps} steps, CFG γ = {P.gamma}.",
        records=[{"column": j + 1, "low": a, "high": b, "kernel": k, "sigma": s, "guidance": P.gamma, "seed": sd}
                 for j, ((a, b), sd) in enumerate(zip(pairs, seeds))])
    section.save_figure("hybrids_small.png", grid_figure([downsample(x, factor)], P.range, zoom=zoom),
                        f"The same hybrids at 1/{factor} size (area average): what one sees from afar.")
    section.seeds.extend(seeds)
    P.common_params(section, True)
    section.params.update({"pairs (far / close)": [f"{a} / {b}" for a, b in pairs], "blur kernel": k, "blur σ": s})
    section.paragraph = paragraph(section.id, P.key, kernel=k, sigma=s)

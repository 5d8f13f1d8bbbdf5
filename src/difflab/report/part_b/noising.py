"""B1.2: five test digits noised as z = x + σ·ε for σ = 0 … 1 (spec §3.2), one ε per digit."""

from __future__ import annotations

import torch

from ...sampling import NoiseSource
from ..figures import grid_figure
from ..prose import paragraph
from ..section import Section
from ..tour import TourContext

NOISING_SIGMAS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)  # spec §3.2
DIGITS = 5


def noising_grid(ctx: TourContext, section: Section) -> None:
    """B1.2: rows are the first five test digits, columns the noise levels."""
    from ...data import load_dataset
    data = ctx.cached(f"dataset:{ctx.dataset}:test", lambda: load_dataset(ctx.dataset, "test"))
    x, labels = data.images[:DIGITS], data.labels[:DIGITS].tolist()
    seeds = ctx.seeds(DIGITS)
    eps = NoiseSource(seeds).randn(x.shape[1:])
    rows = [torch.cat([x[i:i + 1] + sigma * eps[i:i + 1] for sigma in NOISING_SIGMAS]) for i in range(DIGITS)]
    section.save_figure(
        "noising.png", grid_figure(rows, (0.0, 1.0), col_labels=[f"sigma = {s}" for s in NOISING_SIGMAS],
                                   row_labels=[data.class_names[c] for c in labels]),
        f"The first {DIGITS} digits of the {ctx.dataset} test split (rows) noised as z = x + σ·eps for "
        f"σ = {', '.join(map(str, NOISING_SIGMAS))} (columns); one eps per digit "
        f"(seeds {', '.join(map(str, seeds))}); "
        "shown clipped to [0, 1].",
        records=[{"row": i + 1, "dataset": ctx.dataset, "split": "test", "index": i, "label": int(label),
                  "sigmas": list(NOISING_SIGMAS), "seed": seed} for i, (label, seed) in enumerate(zip(labels, seeds))])
    section.seeds.extend(seeds)
    section.params.update({"dataset": f"{ctx.dataset} (test split)", "digits": DIGITS,
                           "σ": list(NOISING_SIGMAS), "noise": "z = x + σ·eps, x in [0, 1], eps ~ N(0, I)"})
    section.paragraph = paragraph("B1.2")

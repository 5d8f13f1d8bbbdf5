"""Fake report sections for the report tests: small generated PNGs and a GIF, no model."""

from __future__ import annotations

import torch

from difflab.report.figures import grid_figure, save_gif, save_png
from difflab.report.section import Section

CATALOG = [("A0.2", "The seed", "A"), ("A1.1", "Forward process", "A"), ("A1.7a", "SDEdit", "A"),
           ("B1.2", "Noising digits", "B"), ("B2.6-FM", "Class-conditioned samples", "B")]


def fake_section(report, sid, part, title=None, caption="a grid", gif=False, metrics=None, paragraph="What it shows."):
    section = Section(report, sid, title or f"Deliverable {sid}", part, config_hash="h")
    images = torch.linspace(0, 1, 4 * 28 * 28).reshape(4, 1, 28, 28)
    save_png(grid_figure([images], (0.0, 1.0), col_labels=["a", "b", "c", "d"]), section.path("grid.png"))
    section.add_figure("grid.png", caption)
    if gif:
        frames = [grid_figure([images[i:i + 1]], (0.0, 1.0)) for i in range(4)]
        save_gif(frames, section.path("anim.gif"))
        section.add_figure("anim.gif", "an animation", scale=2)
    section.record({"file": "grid.png", "seed": 0})
    section.params.update({"steps": 20, "guidance": 5.0, "views": ["identity", "flip"]})
    section.seeds.extend([0, 1])
    section.paragraph = paragraph
    section.finish(metrics=metrics, seconds=1.5)
    return section

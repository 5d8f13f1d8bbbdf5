"""The report: a table of deliverables, one engine that runs them into section folders, one page.

* `catalog` — spec §4's deliverables as data: id, title, procedure, its arguments, what it needs;
* `tour` — the engine: `run_tour` runs the selected rows resumably into section folders;
* `section` — the contract: ``<report>/sections/<ID>/`` with figures, records.jsonl and section.json,
  and `Section`, which procedures fill in ("save, add figure, record": `Section.save_figure`);
* `prose` — every paragraph, keyed by deliverable and by the model that drew the figure;
* `part_a`, `part_b` — the procedures: they assemble figures and text (training and evaluation
  live in `difflab.training.tour_runs` and `difflab.evaluation.sampled`);
* `inputs` — the tour's test pictures and hand-drawn digits;
* `render` — index.html from the section.json files, recomputing nothing;
* `figures` — labelled PNG grids and GIFs for sections;
* `browser` — open a page in headless Chromium and report broken images and console errors.
"""

from .render import render
from .section import Section

__all__ = ["Section", "render"]

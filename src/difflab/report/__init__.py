"""The report: deliverables write section folders, `render` turns them into one self-contained page.

* `section` — the contract: ``<report>/sections/<ID>/`` with figures, records.jsonl and section.json;
* `render` — index.html from the section.json files, recomputing nothing;
* `tour` — the registry of spec §4's deliverables and `run_tour`, which runs them resumably;
* `figures` — labelled PNG grids and GIFs for sections;
* `browser` — open a page in headless Chromium and report broken images and console errors.
"""

from .render import render
from .section import Section

__all__ = ["Section", "render"]

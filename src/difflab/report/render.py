"""The report page: index.html built from section.json files and tour.json only.

`render(report_dir)` reads ``<report>/tour.json`` (the tour's settings, optional) and every
``<report>/sections/<ID>/section.json``, and writes ``<report>/index.html``: a header (difflab
version, models, seed, date, total time), contents, the evaluation summary, one section per
finished deliverable in spec order, and the list of deliverables that were not run, with why.

Nothing is recomputed and nothing depends on the clock: the same folder renders to the same bytes.
Every link is relative and stays inside the folder; the CSS is inlined; there is no script. All
text is HTML-escaped. A figure whose file is missing is reported, not linked.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from PIL import Image

from ..atomic import atomic_write
from ..errors import UserError
from .catalog import catalog as spec_order
from ..runs import inside
from .section import SECTION_FILE, SECTIONS_DIR, read_section, read_tour

INDEX_FILE = "index.html"
TITLE = "difflab: Fun with Diffusion Models"
PART_TITLES = {"A": "Part A — The Power of Diffusion Models", "B": "Part B — Diffusion and Flow Models from Scratch"}
# the summary table's known metric names, in column order; any other metric goes under "other"
SUMMARY_COLUMNS = (("classifier_fid", "classifier-FID"), ("classifier_fid_floor", "FID floor (real vs real)"),
                   ("class_accuracy", "class accuracy"))


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _template(name: str) -> Template:
    return Template((resources.files("difflab.report") / "templates" / name).read_text(encoding="utf-8"))


def render(report_dir: str | os.PathLike, catalog: Sequence[tuple[str, str, str]] | None = None) -> Path:
    """Write report_dir/index.html from its section.json files; return its path.

    `catalog` is the spec order as (id, title, part) triples; by default the tour's table.
    """
    page, _ = build_page(report_dir, catalog)
    index = Path(report_dir) / INDEX_FILE
    with atomic_write(index, overwrite=True, mode="wb") as handle:
        handle.write(page.encode("utf-8"))
    return index


def build_page(report_dir: str | os.PathLike,
               catalog: Sequence[tuple[str, str, str]] | None = None) -> tuple[str, list[str]]:
    """The page's HTML, and its problems (unreadable sections, figures that cannot be shown)."""
    folder = Path(report_dir)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    if catalog is None:
        catalog = spec_order()
    tour = _read_tour(folder)
    sections, problems = _read_sections(folder)
    known = [cid for cid, _, _ in catalog]
    order = known + sorted(set(sections) - set(known))
    done = [sections[i] for i in order if i in sections and sections[i]["status"] == "done"]
    parts = _parts(folder, done, problems)  # adds the figures that cannot be shown to `problems`
    page = _template("index.html").substitute(
        version=esc(tour.get("difflab_version", "?")), title=esc(TITLE),
        css=(resources.files("difflab.report") / "templates" / "style.css").read_text(encoding="utf-8"),
        meta=_meta(tour, done), toc=_toc(order, sections, catalog), summary=_summary(done), parts=parts,
        not_run=_not_run(order, sections, catalog, tour), problems=_problems(problems),
        folder=esc(folder.name or str(folder)))
    return page, problems


def _read_tour(folder: Path) -> dict:
    return read_tour(folder)


def _read_sections(folder: Path) -> tuple[dict[str, dict], list[str]]:
    """id → section.json of every section folder; unreadable ones become problems."""
    sections, problems = {}, []
    root = folder / SECTIONS_DIR
    for sub in sorted(root.iterdir()) if root.is_dir() else []:
        if not (sub / SECTION_FILE).is_file():
            continue  # an unfinished section: it was interrupted, and the tour runs it again
        try:
            data = read_section(sub)
        except UserError as err:
            problems.append(str(err))
            continue
        if data["id"] != sub.name:
            problems.append(f"{sub / SECTION_FILE} says id {data['id']!r} but lives in folder {sub.name!r}")
            continue
        sections[data["id"]] = data
    return sections, problems


def _fmt(value: Any) -> str:
    """A parameter value as text: exact numbers, lists joined by commas, objects as k: v."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return "—" if value is None else str(value)


def _num(value: Any, name: str = "") -> str:
    """A metric as text: 4 significant digits; accuracies in [0, 1] as percentages."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _fmt(value)
    if "accuracy" in name and 0 <= value <= 1:
        return f"{100 * value:.1f} %"
    return f"{value:.4g}"


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)} min {seconds:.0f} s" if minutes else f"{seconds:.1f} s"


def _meta(tour: dict, done: list[dict]) -> str:
    models = tour.get("models") or {}
    total = sum(float(d.get("seconds") or 0) for d in done)
    seeds = sorted({s for d in done for s in d.get("seeds", []) if isinstance(s, int)})
    rows = [("difflab", tour.get("difflab_version", "unknown")),
            ("Part A model", models.get("A", "—")), ("Part B models", models.get("B", "—")),
            ("seed", tour.get("seed", "—")),
            ("seeds in the figures", ", ".join(map(str, seeds)) or "—"),
            ("settings", _settings(tour)),
            ("device", tour.get("device", "—")), ("date", tour.get("updated", tour.get("started", "—"))),
            ("total time", f"{_seconds(total)} over {len(done)} finished deliverables")]
    return "\n".join(f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>" for k, v in rows)


def _settings(tour: dict) -> str:
    if not tour:
        return "—"
    text = "quick (--quick: fewer images and steps)" if tour.get("quick") else "full"
    return text + (", Part B retrained (--train)" if tour.get("train") else "")


def _anchor(section_id: str) -> str:
    return "s-" + section_id


def _toc(order: list[str], sections: dict, catalog: Sequence[tuple[str, str, str]]) -> str:
    titles = {cid: title for cid, title, _ in catalog}
    items = []
    for sid in order:
        data = sections.get(sid)
        title = data["title"] if data else titles.get(sid, sid)
        if data and data["status"] == "done":
            items.append(f'<li><a href="#{esc(_anchor(sid))}"><span class="id">{esc(sid)}</span> {esc(title)}</a></li>')
        else:
            items.append(f'<li class="absent"><a href="#not-run"><span class="id">{esc(sid)}</span> {esc(title)}</a> '
                         f'(not run)</li>')
    return "<ol>\n" + "\n".join(items) + "\n</ol>"


def _metric_rows(data: dict) -> list[tuple[str, dict]]:
    """(label, {name: value}) rows of a section's metrics: flat, or one row per labelled group."""
    metrics = data.get("metrics") or {}
    if metrics and all(isinstance(v, dict) for v in metrics.values()):
        return [(str(label), group) for label, group in metrics.items()]
    return [("", metrics)]


def _summary(done: list[dict]) -> str:
    if not done:
        return "<p>No deliverable has finished yet.</p>"
    head = "".join(f'<th class="num">{esc(title)}</th>' for _, title in SUMMARY_COLUMNS)
    rows = []
    for data in done:
        for label, metrics in _metric_rows(data):
            known = "".join(f'<td class="num">{esc(_num(metrics[k], k)) if k in metrics else "—"}</td>'
                            for k, _ in SUMMARY_COLUMNS)
            other = "; ".join(f"{k} = {_num(v, k)}" for k, v in metrics.items()
                              if k not in dict(SUMMARY_COLUMNS))
            what = esc(data["title"]) + (f" <em>({esc(label)})</em>" if label else "")
            rows.append(f'<tr><td><a href="#{esc(_anchor(data["id"]))}">{esc(data["id"])}</a></td><td>{what}</td>'
                        f'{known}<td>{esc(other) or "—"}</td><td class="num">{esc(_seconds(data.get("seconds")))}</td></tr>')
    return (f'<table class="summary">\n<tr><th>ID</th><th>deliverable</th>{head}<th>other</th>'
            f'<th class="num">time</th></tr>\n' + "\n".join(rows) + "\n</table>\n"
            "<p class=\"files\">classifier-FID: Fréchet distance between features of difflab's MNIST classifier on "
            "samples and on real test digits; its floor is the same distance between two halves of the real "
            "data, the best any model can reach. Class accuracy: how often the classifier names the class asked "
            "for. Time: compute time of the section on the device named above.</p>")


def _parts(folder: Path, done: list[dict], problems: list[str]) -> str:
    out = []
    for part in ("A", "B"):
        chosen = [d for d in done if d["part"] == part]
        out.append(f'<h2 id="part-{part.lower()}">{esc(PART_TITLES[part])}</h2>')
        out.extend(_section(folder, d, problems) for d in chosen)
        if not chosen:
            out.append("<p>No deliverable of this part has finished yet; see <a href=\"#not-run\">Not run</a>.</p>")
    return "\n".join(out)


def _figure(folder: Path, data: dict, figure: dict, problems: list[str]) -> str:
    rel = f"{SECTIONS_DIR}/{data['id']}/{figure['file']}"
    parts = Path(figure["file"]).parts
    path = folder / rel
    try:
        if Path(figure["file"]).is_absolute() or ".." in parts or not inside(folder / SECTIONS_DIR / data["id"],
                                                                             figure["file"]):
            raise OSError("it points outside the section folder")
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, ValueError) as err:
        problems.append(f"section {data['id']}: figure {figure['file']} cannot be shown ({err.__class__.__name__})")
        return f'<p class="missing">missing figure: {esc(figure["file"])}</p>'
    scale = figure.get("scale") if isinstance(figure.get("scale"), int) and figure["scale"] > 0 else 1
    return _template("figure.html").substitute(
        src=esc(quote(rel)), width=width * scale, height=height * scale, alt=esc(figure.get("caption", "")),
        caption=esc(figure.get("caption", "")), pixelated=' class="pixelated"' if scale > 1 else "")


def _table(rows: Iterable[tuple[str, str]], cls: str) -> str:
    body = "\n".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">\n{body}\n</table>' if body else ""


def _section(folder: Path, data: dict, problems: list[str]) -> str:
    figures = "\n".join(_figure(folder, data, f, problems) for f in data.get("figures", []))
    paragraphs = [p.strip() for p in str(data.get("paragraph", "")).split("\n\n") if p.strip()]
    params = [(k, _fmt(v)) for k, v in (data.get("params") or {}).items()]
    params.append(("seeds", _fmt(data.get("seeds") or [])))
    metrics = [(f"{m} ({label})" if label else m, _num(v, m)) for label, group in _metric_rows(data)
               for m, v in group.items()]
    base = f"{SECTIONS_DIR}/{data['id']}/"
    files = [f'<a href="{esc(quote(base + SECTION_FILE))}">section.json</a>']
    records = data.get("records")
    if records and inside(folder / base, records) and (folder / base / records).is_file():
        files.append(f'<a href="{esc(quote(base + records))}">{esc(records)}</a> (one record per image)')
    files.append(f"compute time {esc(_seconds(data.get('seconds')))}")
    return _template("section.html").substitute(
        anchor=esc(_anchor(data["id"])), id=esc(data["id"]), title=esc(data["title"]),
        figures=f'<div class="figures">\n{figures}\n</div>' if figures else "",
        paragraph="\n".join(f"<p>{esc(p)}</p>" for p in paragraphs),
        params=_table(params, "params"), metrics=_table(metrics, "metrics"), files=" · ".join(files))


def _not_run(order: list[str], sections: dict, catalog: Sequence[tuple[str, str, str]], tour: dict) -> str:
    titles = {cid: title for cid, title, _ in catalog}
    selected = tour.get("selected")
    items = []
    for sid in order:
        data = sections.get(sid)
        if data and data["status"] == "done":
            continue
        if data:
            reason = f"{data['status']}: {data.get('reason') or 'no reason recorded'}"
        elif isinstance(selected, list) and sid not in selected:
            reason = "not selected in this tour" + (f" (--only {tour['only']})" if tour.get("only") else "")
        else:
            reason = "not run yet (an interrupted tour runs it when started again)"
        title = data["title"] if data else titles.get(sid, sid)
        items.append(f'<li><span class="id">{esc(sid)}</span> {esc(title)} — <span class="reason">{esc(reason)}</span></li>')
    return "<ul>\n" + "\n".join(items) + "\n</ul>" if items else "<p>Every deliverable ran.</p>"


def _problems(problems: list[str]) -> str:
    if not problems:
        return ""
    items = "\n".join(f"<li>{esc(p)}</li>" for p in problems)
    return f'<section class="problems" id="problems">\n<h2>Problems</h2>\n<ul>\n{items}\n</ul>\n</section>'

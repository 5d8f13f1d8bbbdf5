"""The contract between a deliverable and the report: one folder per deliverable, closed by section.json.

A deliverable with ID ``A1.7a`` owns ``<report>/sections/A1.7a/``. It writes its figures (PNG or
GIF) and, if it makes per-image outputs, ``records.jsonl`` (one JSON line per image, as in every
difflab run folder). Then, LAST and atomically, ``section.json``:

| field       | type                          | meaning                                                |
|-------------|-------------------------------|--------------------------------------------------------|
| format      | "difflab-section/1"           | this contract's version                                |
| id          | str                           | the deliverable ID of spec §4 (A0.1 … B-BW)            |
| title       | str                           | one line                                               |
| part        | "A" or "B"                    | which half of the project                              |
| status      | "done", "not run" or "failed" | only "done" sections are shown as sections             |
| reason      | str                           | why a section is "not run" or "failed" ("" if done)    |
| figures     | [{file, caption, scale?}]     | files relative to the section folder; scale: zoom ≥ 1  |
| paragraph   | str                           | what the figures show (blank line = new paragraph)     |
| params      | {name: value}                 | exact parameters, shown as a table in insertion order  |
| seeds       | [int]                         | every seed used                                        |
| metrics     | {name: number} or {label: {name: number}} | evaluation numbers for the summary table   |
| seconds     | float                         | compute time of the section                            |
| records     | "records.jsonl" or null       | the per-image records, if any                          |
| config_hash | str                           | hash of the settings that made it (the resume rule)    |

Resume rule: a section is complete exactly when its section.json exists with status "done"; a
tour skips it when its config_hash also equals the one the tour would use now. Anything else
(no section.json, "not run", "failed", another hash) is cleared and run again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from collections.abc import Iterable, Sequence
from typing import Any

from PIL import Image

from ..atomic import append_jsonl, atomic_write, json_safe
from ..errors import UserError
from .figures import save_gif, save_png

FORMAT = "difflab-section/1"
SECTIONS_DIR = "sections"
TOUR_FILE = "tour.json"  # the tour's own settings, at the top of the report folder
SECTION_FILE = "section.json"
RECORDS_FILE = "records.jsonl"
STATUSES = ("done", "not run", "failed")
FIGURE_SUFFIXES = (".png", ".gif", ".jpg", ".jpeg", ".svg", ".webp")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")


def check_id(section_id: str) -> str:
    if not isinstance(section_id, str) or not _ID.match(section_id) or ".." in section_id:
        raise ValueError(f"bad section id {section_id!r}: letters, digits, '.' and '-' only")
    return section_id


def section_dir(report_dir: str | os.PathLike, section_id: str) -> Path:
    return Path(report_dir) / SECTIONS_DIR / check_id(section_id)


def check_relative(name: str | os.PathLike) -> str:
    """A file name inside a section folder: relative, no '..', forward slashes (it becomes a link)."""
    text = Path(name).as_posix()
    if Path(name).is_absolute() or not text or text.startswith("/") or ".." in text.split("/") or text == ".":
        raise ValueError(f"{name!r} must be a relative path inside the section folder")
    return text


def write_section_json(folder: Path, data: dict) -> Path:
    """section.json, atomically, keys in the order given (params keep their order)."""
    path = folder / SECTION_FILE
    with atomic_write(path, overwrite=True, mode="w") as handle:
        json.dump(json_safe(data), handle, indent=2, allow_nan=False)  # ASCII-only: \u escapes, whatever the locale
        handle.write("\n")
    return path


def read_section(folder: str | os.PathLike) -> dict:
    """The section.json of a section folder; UserError (one line) if it is unreadable or malformed."""
    path = Path(folder) / SECTION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read {path}: {err}") from None
    problems = _problems(data) or _outside(Path(folder), data)
    if problems:
        raise UserError(f"{path} is not a valid section: {problems[0]}")
    return data


# Fields and their types (None allowed where the contract says "or null").
_TYPES = {"id": str, "title": str, "part": str, "status": str, "reason": str, "paragraph": str, "params": dict,
          "seeds": list, "metrics": (dict, type(None)), "seconds": (int, float, type(None)),
          "records": (str, type(None)), "config_hash": (str, type(None)), "format": str, "figures": list}


def _problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["not a JSON object"]
    out = [f"missing field {key!r}" for key in ("id", "title", "part", "status") if key not in data]
    out += [f"{key} must be {_kind(kind)}, not {type(data[key]).__name__}" for key, kind in _TYPES.items()
            if key in data and (not isinstance(data[key], kind) or isinstance(data[key], bool))]
    if out:
        return out
    if data["status"] not in STATUSES:
        out.append(f"status {data['status']!r} is not one of {STATUSES}")
    if data["part"] not in ("A", "B"):
        out.append(f"part {data['part']!r} is not 'A' or 'B'")
    figures = data.get("figures", [])
    if not isinstance(figures, list) or not all(isinstance(f, dict) and "file" in f for f in figures):
        out.append("figures must be a list of {file, caption}")
    for key, kind in (("params", dict), ("seeds", list), ("paragraph", str)):
        if key in data and not isinstance(data[key], kind):
            out.append(f"{key} must be a {kind.__name__}")
    for figure in figures if isinstance(figures, list) else []:
        if isinstance(figure, dict) and not (isinstance(figure.get("file"), str)
                                             and isinstance(figure.get("caption", ""), str)
                                             and isinstance(figure.get("scale", 1), int)):
            out.append("a figure's file and caption must be strings and its scale an integer")
    for value in _metric_values(data.get("metrics") or {}):
        if isinstance(value, bool) or not isinstance(value, (int, float, str, type(None))):
            out.append("metrics must be {name: number} or {label: {name: number}}")
            break
    return out


def _kind(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def _metric_values(metrics: dict) -> list:
    return [v for value in metrics.values() for v in (value.values() if isinstance(value, dict) else [value])]


def _outside(folder: Path, data: dict) -> list[str]:
    """Every file the page links (figures, records) must stay inside the section folder."""
    from ..runs import inside

    names = [f["file"] for f in data.get("figures", [])] + ([data["records"]] if data.get("records") else [])
    return [f"{name[:80]!r} is not a path inside the section folder" for name in names if not inside(folder, name)]


def read_tour(report_dir: str | os.PathLike) -> dict:
    """tour.json of a report folder ({} if none); UserError (one line) if it is not the tour's settings."""
    path = Path(report_dir) / TOUR_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a tour's settings (not a JSON object)")
    for key, kind in _TOUR_TYPES.items():
        if key in data and (not isinstance(data[key], kind) or (isinstance(data[key], bool) and bool not in kind)):
            raise UserError(f"{path}: {key} must be {_kind(kind)}, not {type(data[key]).__name__}")
    models, selected = data.get("models") or {}, data.get("selected") or []
    if not all(isinstance(v, str) for v in [*models.values(), *selected]):
        raise UserError(f"{path}: models and selected must hold strings")
    return data


_TOUR_TYPES = {key: (str, type(None)) for key in ("format", "difflab_version", "python", "torch", "device",
                                                   "dataset", "started", "updated")}
_TOUR_TYPES.update(only=(str, list, type(None)), seed=(int, type(None)), quick=(bool,), train=(bool,),
                   models=(dict, type(None)), selected=(list, type(None)))


def is_done(report_dir: str | os.PathLike, section_id: str, config_hash: str | None = None) -> bool:
    """True if the section finished (status "done") — with this config_hash, when one is given."""
    try:
        data = read_section(section_dir(report_dir, section_id))
    except UserError:
        return False
    return data["status"] == "done" and (config_hash is None or data.get("config_hash") == config_hash)


def clear_section(report_dir: str | os.PathLike, section_id: str) -> None:
    """Remove a section folder (a crashed, not-run, failed or outdated attempt) before running again."""
    folder = section_dir(report_dir, section_id)
    if folder.is_dir():
        shutil.rmtree(folder)


def write_status(report_dir: str | os.PathLike, section_id: str, title: str, part: str, status: str,
                 reason: str, config_hash: str | None = None) -> Path:
    """Record a section that did not produce its figures: status "not run" or "failed", with why."""
    if status not in ("not run", "failed"):
        raise ValueError(f"write_status records 'not run' or 'failed', not {status!r}")
    folder = section_dir(report_dir, section_id)
    folder.mkdir(parents=True, exist_ok=True)
    return write_section_json(folder, {"format": FORMAT, "id": section_id, "title": title, "part": part,
                                       "status": status, "reason": reason, "config_hash": config_hash})


class Section:
    """What a deliverable fills in: figures, parameters, seeds, a paragraph; then `finish()`.

    >>> s = Section(report, "A1.1", "Forward process", "A")
    >>> s.save_figure("forward.png", image, "the photo at t = 250, 500, 750 (seed 0)", records=[{"seed": 0}])
    >>> s.params["t"] = [250, 500, 750]; s.seeds.append(0); s.paragraph = "…"
    >>> s.finish(metrics={"classifier_fid": 12.3})
    """

    def __init__(self, report_dir: str | os.PathLike, section_id: str, title: str, part: str,
                 config_hash: str | None = None):
        if part not in ("A", "B"):
            raise ValueError(f"part must be 'A' or 'B', not {part!r}")
        self.id, self.title, self.part, self.config_hash = check_id(section_id), title, part, config_hash
        self.dir = section_dir(report_dir, section_id)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.figures: list[dict] = []
        self.params: dict[str, Any] = {}
        self.seeds: list[int] = []
        self.paragraph = ""
        self.finished = False
        self.seconds: float | None = None
        self._start = time.monotonic()

    def path(self, name: str) -> Path:
        """Where to write file `name` of this section (its folders are created)."""
        target = self.dir / check_relative(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add_figure(self, file: str, caption: str, scale: int | None = None) -> None:
        """Show `file` (relative to the section folder) with `caption`; `scale` zooms small images."""
        name = check_relative(file)
        if Path(name).suffix.lower() not in FIGURE_SUFFIXES:
            raise ValueError(f"{name}: a figure is one of {', '.join(FIGURE_SUFFIXES)}")
        figure: dict[str, Any] = {"file": name, "caption": caption}
        if scale is not None:
            if int(scale) < 1:
                raise ValueError("scale must be a positive integer")
            figure["scale"] = int(scale)
        self.figures.append(figure)

    def save_figure(self, file: str, image: Image.Image | Sequence[Image.Image], caption: str,
                    records: Iterable[dict] = (), scale: int | None = None) -> None:
        """Save, show, record: write `image` as `file` (a list of frames for a .gif), show it with
        `caption`, and write one record per output image in it (``file`` is added first)."""
        if Path(file).suffix.lower() == ".gif":
            save_gif(image, self.path(file))
        else:
            save_png(image, self.path(file))
        self.add_figure(file, caption, scale)
        for record in records:
            self.record({"file": file, **record})

    def copy_figure(self, source: str | os.PathLike, file: str, caption: str, scale: int | None = None) -> None:
        """Show a figure that another run already wrote (a training run's loss curve or sample grid)."""
        if not Path(source).is_file():
            raise UserError(f"the training run did not write {source}")
        shutil.copyfile(source, self.path(file))
        self.add_figure(file, caption, scale)

    def record(self, record: dict) -> None:
        """One JSON line in this section's records.jsonl (one per output image)."""
        append_jsonl(self.dir / RECORDS_FILE, record)

    def finish(self, metrics: dict | None = None, seconds: float | None = None) -> Path:
        """Write section.json (last, atomically): the section is complete. Returns its path."""
        if self.finished:
            raise RuntimeError(f"section {self.id} is already finished")
        missing = [f["file"] for f in self.figures if not (self.dir / f["file"]).is_file()]
        if missing:
            raise RuntimeError(f"section {self.id}: figure file {missing[0]} was never written")
        self.seconds = round(time.monotonic() - self._start if seconds is None else float(seconds), 3)
        data = {"format": FORMAT, "id": self.id, "title": self.title, "part": self.part, "status": "done",
                "reason": "", "figures": self.figures, "paragraph": self.paragraph, "params": self.params,
                "seeds": [int(s) for s in self.seeds], "metrics": metrics or {},
                "seconds": self.seconds,
                "records": RECORDS_FILE if (self.dir / RECORDS_FILE).is_file() else None,
                "config_hash": self.config_hash}
        path = write_section_json(self.dir, data)
        self.finished = True
        return path

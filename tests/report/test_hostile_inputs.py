"""`difflab report` on hand-edited or hostile section.json / tour.json: one line or a page that
lists the problem, never a traceback, and never a link that leaves its section folder."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image

from hostile_input import run_cli

SECTION = {"format": "difflab-section/1", "id": "A1.1", "title": "Forward process", "part": "A", "status": "done",
           "reason": "", "figures": [{"file": "forward.png", "caption": "the photo"}], "paragraph": "text",
           "params": {"t": [250]}, "seeds": [0], "metrics": {}, "seconds": 1.5, "records": None, "config_hash": None}


def report(folder, section=None, tour=None):
    section_dir = folder / "sections" / "A1.1"
    section_dir.mkdir(parents=True)
    Image.new("L", (8, 8)).save(section_dir / "forward.png")
    (section_dir / "section.json").write_text(json.dumps(section or SECTION))
    (folder / "tour.json").write_text(json.dumps({"format": "difflab-tour/1", "seed": 0} if tour is None else tour))
    return folder


def assert_links_stay_inside(folder: Path) -> None:
    """Every link and image of index.html is an anchor, a data: URL, or a file inside its section folder."""
    for link in re.findall(r'(?:href|src)="([^"]*)"', (folder / "index.html").read_text()):
        if link.startswith(("#", "data:")):
            continue
        parts = Path(unquote(link)).parts
        assert parts[0] == "sections" and ".." not in parts, link
        section = (folder / "sections" / parts[1]).resolve()
        assert (folder / unquote(link)).resolve().is_relative_to(section), link


BAD_SECTIONS = {
    "title a number": {"title": 5}, "figures a string": {"figures": "forward.png"},
    "figure file a number": {"figures": [{"file": 3}]}, "caption a list": {"figures": [{"file": "forward.png",
                                                                                          "caption": []}]},
    "scale a string": {"figures": [{"file": "forward.png", "scale": "2"}]}, "seeds a string": {"seeds": "0"},
    "metrics a list": {"metrics": [1]}, "metric an object in an object": {"metrics": {"a": {"b": {"c": 1}}}},
    "seconds a string": {"seconds": "fast"}, "params a list": {"params": [1]}, "records a number": {"records": 5},
    "records outside": {"records": "../../../../etc/passwd"}, "records absolute": {"records": "/etc/passwd"},
    "figure outside": {"figures": [{"file": "../../x.png", "caption": ""}]},
    "status unknown": {"status": "great"}, "id a list": {"id": ["A1.1"]}, "not an object": None,
}


@pytest.mark.parametrize("what", BAD_SECTIONS)
def test_a_malformed_section_is_listed_as_a_problem_never_linked(what, workdir, capsys):
    change = BAD_SECTIONS[what]
    section = [1, 2] if change is None else {**SECTION, **change}
    folder = report(workdir / "report", section)
    code, out, err = run_cli(["report", str(folder)], capsys)
    assert "Traceback" not in err
    assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1), err
    assert_links_stay_inside(folder)


def test_a_link_through_a_symlink_out_of_the_section_is_refused(workdir, tmp_path_factory, capsys):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.jsonl").write_text("{}\n")
    folder = report(workdir / "report", {**SECTION, "records": "records.jsonl"})
    (folder / "sections" / "A1.1" / "records.jsonl").symlink_to(outside / "secret.jsonl")
    code, _, err = run_cli(["report", str(folder)], capsys)
    assert code == 0, err
    assert_links_stay_inside(folder)
    assert "records.jsonl" in (folder / "index.html").read_text().split('id="problems"', 1)[1]


BAD_TOURS = {"a list": [1], "models a number": {"models": 5}, "seed a string": {"seed": "zero"},
             "quick a string": {"quick": "yes"}, "selected of numbers": {"selected": [1, 2]},
             "version a number": {"difflab_version": 2}, "not JSON": "{"}


@pytest.mark.parametrize("what", BAD_TOURS)
def test_a_malformed_tour_json_is_one_line(what, workdir, capsys):
    folder = report(workdir / "report")
    value = BAD_TOURS[what]
    (folder / "tour.json").write_text(value if isinstance(value, str) else json.dumps(value))
    code, _, err = run_cli(["report", str(folder)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "tour.json" in err, err
    assert not (folder / "index.html").exists()

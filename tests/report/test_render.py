import hashlib
import re

import pytest
from fake_report import CATALOG, fake_section

from difflab.errors import UserError
from difflab.report.render import render
from difflab.report.section import SECTION_FILE, Section, read_section


def _html(report):
    return render(report, CATALOG).read_text(encoding="utf-8")


def _snapshot(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "index.html"}


def test_sections_appear_in_spec_order_whatever_the_folder_order(report):
    html = _html(report)
    positions = [html.index(f'id="s-{sid}"') for sid in ("A1.1", "B1.2", "B2.6-FM")]
    assert positions == sorted(positions)
    assert html.index('id="part-a"') < positions[0] and html.index('id="part-b"') < positions[1]


def test_unknown_ids_come_after_the_catalog(report):
    fake_section(report, "A9.9", "A")
    html = _html(report)
    toc = html.split('id="contents"')[1].split("</nav>")[0]
    assert toc.index('href="#s-B2.6-FM"') < toc.index('href="#s-A9.9"')
    assert html.index('id="s-A1.1"') < html.index('id="s-A9.9"') < html.index('id="part-b"')


def test_missing_and_not_run_sections_are_listed_with_reasons(report):
    html = _html(report)
    not_run = html[html.index('id="not-run"'):]
    assert "A1.7a" in not_run and "not run: needs deepfloyd-if" in not_run
    assert "A0.2" in not_run and "not run yet" in not_run  # no folder at all
    assert 'id="s-A1.7a"' not in html and 'id="s-A0.2"' not in html


def test_not_selected_sections_say_so(report):
    (report / "tour.json").write_text('{"selected": ["A1.1"], "only": "A1.1", "seed": 3}')
    not_run = _html(report).split('id="not-run"')[1]
    assert "not selected in this tour (--only A1.1)" in not_run


def test_all_text_is_escaped(tmp_path):
    fake_section(tmp_path, "A1.1", "A", title='<script>alert("t")</script>', caption='caption & <b>"quoted"</b>',
                 paragraph="x < y & z > w\n\n<img src=x onerror=alert(1)>")
    html = _html(tmp_path)
    assert "<script>" not in html and "<b>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html
    assert "caption &amp; &lt;b&gt;&quot;quoted&quot;&lt;/b&gt;" in html
    assert "<p>x &lt; y &amp; z &gt; w</p>" in html  # blank line = new paragraph


def test_render_is_deterministic_and_recomputes_nothing(report):
    before = _snapshot(report)
    first = render(report, CATALOG).read_bytes()
    second = render(report, CATALOG).read_bytes()
    assert first == second
    assert _snapshot(report) == before  # no section file was touched


def test_figures_params_seeds_and_records_are_shown(report):
    html = _html(report)
    assert 'src="sections/A1.1/grid.png" width="' in html and 'src="sections/A1.1/anim.gif"' in html
    assert 'class="pixelated"' in html  # the GIF asked for scale 2
    assert "<th>steps</th><td>20</td>" in html and "<th>guidance</th><td>5.0</td>" in html
    assert "<th>views</th><td>identity, flip</td>" in html and "<th>seeds</th><td>0, 1</td>" in html
    assert 'href="sections/A1.1/records.jsonl"' in html


def test_summary_table_has_fid_beside_its_floor_accuracy_and_time(report):
    summary = _html(report).split('id="summary"')[1].split("</section>")[0]
    row = next(r for r in summary.split("<tr>") if "epoch 10" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[2:5] == ["9.5", "1.5", "98.5 %"] and cells[-1] == "1.5 s"
    assert summary.count("<tr>") == 1 + 2 + 2  # header, A1.1 and B1.2, two epochs of B2.6-FM


def test_links_are_relative_and_nothing_is_external(report):
    html = _html(report)
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links and all(not re.match(r"^[a-z]+:", link) or link == "data:," for link in links)
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_a_missing_figure_is_reported_not_linked(report):
    (report / "sections" / "B1.2" / "grid.png").unlink()
    html = _html(report)
    assert 'src="sections/B1.2/grid.png"' not in html
    assert "missing figure: grid.png" in html and 'id="problems"' in html


def test_a_corrupt_section_json_is_a_problem_not_a_crash(report):
    (report / "sections" / "B1.2" / SECTION_FILE).write_text("{not json")
    html = _html(report)
    assert 'id="problems"' in html and "cannot read" in html and 'id="s-B1.2"' not in html


def test_header_comes_from_tour_json(report):
    (report / "tour.json").write_text('{"difflab_version": "9.9", "seed": 7, "models": {"A": "m<1>", "B": "ckpt"},'
                                      ' "updated": "2030-01-01 00:00 UTC", "quick": true}')
    html = _html(report)
    assert "<th>difflab</th><td>9.9</td>" in html and "<th>Part A model</th><td>m&lt;1&gt;</td>" in html
    assert "2030-01-01 00:00 UTC" in html and "quick" in html


def test_section_contract(tmp_path):
    section = Section(tmp_path, "A1.1", "t", "A")
    assert not (section.dir / SECTION_FILE).exists()
    section.add_figure("never.png", "x")
    with pytest.raises(RuntimeError, match="never written"):
        section.finish()
    for bad in ("../x.png", "/abs.png"):
        with pytest.raises(ValueError):
            section.add_figure(bad, "x")
    with pytest.raises(ValueError):
        Section(tmp_path, "../A1", "t", "A")
    with pytest.raises(ValueError):
        section.add_figure("notes.txt", "x")
    (section.dir / SECTION_FILE).write_text('{"id": "A1.1", "title": "t", "part": "C", "status": "done"}')
    with pytest.raises(UserError, match="part"):
        read_section(section.dir)


def test_finish_writes_every_field_and_keeps_param_order(tmp_path):
    section = fake_section(tmp_path, "B1.2", "B", metrics={"classifier_fid": 3.0})
    data = read_section(section.dir)
    assert list(data["params"]) == ["steps", "guidance", "views"]
    assert data["status"] == "done" and data["records"] == "records.jsonl" and data["seconds"] == 1.5
    assert data["figures"] == [{"file": "grid.png", "caption": "a grid"}] and data["seeds"] == [0, 1]
    assert data["metrics"] == {"classifier_fid": 3.0} and data["config_hash"] == "h"

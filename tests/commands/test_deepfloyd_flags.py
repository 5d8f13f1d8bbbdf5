"""The IF-only flags of the Part A commands: --prompt-embeds and --memory."""

import json

import pytest
import torch

from difflab.cli import main

pytest.importorskip("diffusers")
from models.tiny_if import WIDTH, make_tiny_if  # noqa: E402


def test_prompt_embeds_file_feeds_the_prompt_and_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("DIFFLAB_CACHE", str(tmp_path / "cache"))
    model = make_tiny_if(tmp_path)
    images = []
    for k in range(2):  # same prompt, same seed, two different embedding files
        embeds = tmp_path / f"embeds{k}.pth"
        torch.save({"a rocket ship": torch.randn(1, 77, WIDTH, generator=torch.Generator().manual_seed(k)),
                    "": torch.zeros(1, 77, WIDTH)}, embeds)
        out = tmp_path / f"run{k}"
        rc = main(["sample", "--model", str(model), "--prompt-embeds", str(embeds), "--prompt", "a rocket ship",
                   "--steps", "3", "--memory", "none", "--out", str(out), "--quiet"])
        assert rc == 0
        record = json.loads((out / "records.jsonl").read_text().splitlines()[0])
        assert record["argv"][record["argv"].index("--prompt-embeds") + 1] == str(embeds)
        images.append((out / record["image"]).read_bytes())
    assert images[0] != images[1]  # the file's embedding, not the T5 encoder, conditioned the image


def test_prompt_embeds_refused_for_a_class_model(tmp_path, capsys):
    rc = main(["sample", "--prompt-embeds", "x.pth", "--prompt", "3", "--out", str(tmp_path / "r"), "--quiet"])
    assert rc == 2
    assert "--prompt-embeds is for DeepFloyd IF" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()

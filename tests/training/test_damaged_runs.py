"""Damaged run folders: `train --resume` and `upsample` read them as untrusted input.

A malformed config.json, log line or checkpoint is one line naming the file (history is never
dropped silently: only a last line torn by a kill is); leftover temporaries of killed writes are
removed by the resume; upsample refuses a torn records.jsonl or a run not made on IF before it
loads anything (no Hub request).
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from safetensors.torch import load as load_bytes, save as save_bytes

from difflab.cli import main
from hostile_input import run_cli

TINY = ["--hidden", "2", "--train-images", "64", "--batch-size", "32", "--epochs", "2", "--test-images", "0",
        "--sample-steps", "2", "--samples-per-class", "1", "--checkpoint-every", "1", "--quiet"]


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A tiny flow-class run stopped (as if killed) after 3 of its 4 steps, with its checkpoint."""
    run = tmp_path_factory.mktemp("train") / "run"
    assert main(["train", "flow-class", *TINY, "--stop-after-steps", "3", "--out", str(run)]) == 3
    return run


@pytest.fixture
def run(stopped_run, workdir):
    copy = workdir / "runs" / "stopped"
    shutil.copytree(stopped_run, copy)
    return copy


def rewrite_checkpoint(path, change):
    data = path.read_bytes()
    tensors = load_bytes(data)
    metadata = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])["__metadata__"]
    change(tensors, metadata)
    path.write_bytes(save_bytes(tensors, metadata=metadata))


def first_model_tensor(tensors):
    return next(k for k in tensors if k.startswith("model.") and tensors[k].is_floating_point())


CONFIGS = {"not JSON": "{", "a list": "[]", "a string": '"flow"', "a word for a number": {"epochs": "ten"},
           "NaN lr": {"lr": float("nan")}, "unknown key": {"colour": "blue"}, "bool for an int": {"hidden": True},
           "seed past 2**64": {"seed": 2 ** 65}, "device tpu": {"device": "tpu"}, "width 10**6": {"hidden": 10 ** 6}}


@pytest.mark.parametrize("what", CONFIGS)
def test_resume_with_a_malformed_config_is_one_line(what, run, refused):
    value = CONFIGS[what]
    if isinstance(value, dict):
        config = json.loads((run / "config.json").read_text())
        value = json.dumps({**config, **value})
    (run / "config.json").write_text(value)
    assert "config.json" in refused(["train", "--resume", str(run)])


CHECKPOINTS = {
    "random bytes": lambda path: path.write_bytes(b"\x13" * 100),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:5000]),
    "empty": lambda path: path.write_bytes(b""),
    "missing tensor": lambda path: rewrite_checkpoint(path, lambda t, m: t.pop(first_model_tensor(t))),
    "wrong shape": lambda path: rewrite_checkpoint(path, lambda t, m: t.update({first_model_tensor(t): torch.zeros(7)})),
    "NaN weights": lambda path: rewrite_checkpoint(path, lambda t, m: t[first_model_tensor(t)].fill_(float("nan"))),
    "broken position": lambda path: rewrite_checkpoint(path, lambda t, m: m.update(position="{")),
    "negative position": lambda path: rewrite_checkpoint(path, lambda t, m: m.update(position='{"step": -4}')),
    "optimizer of another net": lambda path: rewrite_checkpoint(
        path, lambda t, m: t.update({"optimizer.0.exp_avg": torch.zeros(5)})),
    "lr list": lambda path: rewrite_checkpoint(path, lambda t, m: m.update(lr="[1, 2, 3]")),
    "another format": lambda path: rewrite_checkpoint(path, lambda t, m: m.update(format="x")),
}


@pytest.mark.parametrize("what", CHECKPOINTS)
def test_resume_with_a_damaged_checkpoint_is_one_line(what, run, refused):
    latest = run / "checkpoints" / "latest.safetensors"
    CHECKPOINTS[what](latest)
    assert "latest.safetensors" in refused(["train", "--resume", str(run)])


@pytest.mark.parametrize("name, garbage", [("stats.jsonl", "not json"), ("stats.jsonl", '{"step": "two"}'),
                                           ("stats.jsonl", "[1, 2]"), ("epochs.jsonl", "{{")])
def test_a_garbage_log_line_stops_the_resume_instead_of_dropping_history(name, garbage, run, refused):
    lines = (run / name).read_text().splitlines()
    lines.insert(1 if len(lines) > 1 else 0, garbage)
    (run / name).write_text("\n".join(lines) + "\n")
    line = refused(["train", "--resume", str(run)])
    assert name in line and "line" in line


def test_a_torn_last_line_and_dead_writers_temporaries_resume_cleanly(run, capsys):
    """What kill -9 leaves: half a stats line and temporary files; the resume removes both."""
    with open(run / "stats.jsonl", "a") as handle:
        handle.write('{"step": 4, "epo')
    leftovers = [run / ".config.json.99999999.abcd1234.tmp", run / "checkpoints" / ".latest.safetensors.a1b2c3d4.tmp"]
    for path in leftovers:
        path.write_bytes(b"x" * 1000)
    code, _, err = run_cli(["train", "--resume", str(run), "--quiet"], capsys)
    assert code == 0, err
    assert not any(path.exists() for path in leftovers)
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["config.json", "checkpoints/latest.safetensors", "stats.jsonl"]),
       blob=st.binary(min_size=1, max_size=200))
def test_random_bytes_in_a_run_folder_are_one_line_or_a_clean_resume(name, blob, stopped_run, tmp_path_factory,
                                                                     capsys):
    copy = tmp_path_factory.mktemp("random") / "run"
    shutil.copytree(stopped_run, copy)
    (copy / name).write_bytes(blob)
    code, _, err = run_cli(["train", "--resume", str(copy), "--quiet"], capsys)
    assert "Traceback" not in err
    assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1), err


# ---------------------------------------------------------------- upsample

def ir_run(folder, records: list[str]):
    from PIL import Image
    folder.mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(folder / "sample-seed0.png")
    (folder / "records.jsonl").write_text("".join(line + "\n" for line in records))
    return folder


GOOD = {"image": "sample-seed0.png", "model": "deepfloyd-if", "seed": 0, "prompt": "a cat", "procedure": "sample"}
RECORDS = {
    "torn last line": [json.dumps(GOOD), '{"image": "sample-se'],
    "not made on IF": [json.dumps({**GOOD, "model": "mnist-flow"})],
    "made on a model file": [json.dumps({**GOOD, "model": "runs/x/model.safetensors"})],
    "image outside the run": [json.dumps({**GOOD, "image": "../outside.png"})],
    "absolute image": [json.dumps({**GOOD, "image": "/etc/hostname"})],
    "missing image": [json.dumps({**GOOD, "image": "gone.png"})],
    "a list, not a record": ["[1, 2]"],
    "seed -1": [json.dumps({**GOOD, "seed": -1})],
    "seed text": [json.dumps({**GOOD, "seed": "zero"})],
    "prompts not texts": [json.dumps({**GOOD, "prompts": [1, 2]})],
    "anagram with an unknown view": [json.dumps({**GOOD, "procedure": "anagram", "prompts": ["a", "b"],
                                                 "views": ["identity", "twirl"]})],
    "hybrid with a zero kernel": [json.dumps({**GOOD, "procedure": "hybrid", "prompts": ["a", "b"],
                                              "kernel_size": 0, "sigma": 2})],
    "no images": [],
}


@pytest.mark.parametrize("what", RECORDS)
def test_upsample_refuses_a_bad_run_before_loading_stage_two(what, workdir, refused, monkeypatch):
    import difflab.models.hub as hub

    monkeypatch.setattr(hub, "check_reachable", lambda source: pytest.fail("upsample went to the Hub"))
    folder = ir_run(workdir / "if-run", RECORDS[what])
    refused(["upsample", str(folder), "--quiet"])

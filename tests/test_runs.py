"""A full disk mid-run: one line, a non-zero exit, and no half-run left behind.

Part A commands remove their run folder when a write fails; a training run keeps its folder (the
checkpoint and the logs record what completed) and says how to resume. Failures are injected at
every write in turn (os.fsync raising ENOSPC), and once for real on a small tmpfs where mounting
one is allowed.
"""

from __future__ import annotations

import errno
import json
import math
import os
import subprocess

import pytest

import difflab.atomic as atomic
from difflab.atomic import append_jsonl, write_json
from difflab.errors import UserError
from hostile_input import run_cli


def fail_after(monkeypatch, count: int) -> None:
    """Let `count` writes reach the disk, then every later one fails as a full disk does."""
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] > count:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)


@pytest.mark.parametrize("writes", range(0, 7))
def test_a_full_disk_at_any_write_of_sample_leaves_no_run_folder(writes, model_files, workdir, monkeypatch,
                                                                  capsys):
    fail_after(monkeypatch, writes)
    out = workdir / "runs" / "full"
    code, _, err = run_cli(["sample", "--model", model_files["flow-class"], "--num", "3", "--steps", "2", "--quiet",
                            "--out", str(out)], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "No space left on device" in lines[0], err
    assert not out.exists()


def test_a_full_disk_while_training_keeps_the_run_to_resume(workdir, monkeypatch, capsys):
    out = workdir / "runs" / "train"
    argv = ["train", "flow", "--hidden", "2", "--train-images", "64", "--batch-size", "32", "--epochs", "1",
            "--test-images", "0", "--sample-steps", "2", "--num", "2", "--checkpoint-every", "1", "--quiet"]
    fail_after(monkeypatch, 3)  # config.json, the stats log and the step-1 checkpoint reach the disk; step 2 does not
    code, _, err = run_cli(argv + ["--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--resume" in err, err
    assert (out / "checkpoints" / "latest.safetensors").is_file() and not list(out.rglob(".*.tmp"))
    monkeypatch.undo()
    code, _, err = run_cli(["train", "--resume", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert [json.loads(line)["step"] for line in (out / "stats.jsonl").read_text().splitlines()] == [1, 2]


def test_a_failed_append_leaves_the_jsonl_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "records.jsonl"
    append_jsonl(path, {"image": "a.png"})
    before = path.read_bytes()
    fail_after(monkeypatch, 0)
    with pytest.raises(UserError, match="No space left"):
        append_jsonl(path, {"image": "b.png"})
    assert path.read_bytes() == before


def test_json_is_always_valid_json(tmp_path):
    write_json(tmp_path / "a.json", {"loss": math.nan, "fid": [math.inf, -math.inf, 1.5]})
    assert json.loads((tmp_path / "a.json").read_text(), parse_constant=pytest.fail) == \
        {"loss": None, "fid": [None, None, 1.5]}
    append_jsonl(tmp_path / "b.jsonl", {"loss": math.nan})
    assert json.loads((tmp_path / "b.jsonl").read_text(), parse_constant=pytest.fail) == {"loss": None}


def test_a_diverging_training_run_stops_in_one_line_before_it_writes_nan(workdir, capsys):
    out = workdir / "runs" / "diverge"
    code, _, err = run_cli(["train", "flow", "--hidden", "2", "--train-images", "64", "--batch-size", "32",
                            "--epochs", "2", "--test-images", "0", "--sample-steps", "2", "--num", "2", "--lr", "1e30",
                            "--lr-schedule", "constant", "--quiet", "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "diverged" in err, err
    for line in (out / "stats.jsonl").read_text().splitlines():
        assert math.isfinite(json.loads(line, parse_constant=pytest.fail)["loss"])


@pytest.fixture
def small_disk(tmp_path):
    """A 32 KiB tmpfs (root and a kernel that allows it), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mount)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("cannot mount a tmpfs here")
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], capture_output=True, timeout=10)


def test_a_really_full_disk_is_one_line_and_no_run_folder(small_disk, model_files, capsys):
    out = small_disk / "run"
    code, _, err = run_cli(["sample", "--model", model_files["flow-class"], "--num", "40", "--steps", "1", "--quiet",
                            "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "No space left" in err, err
    assert not out.exists() and list(small_disk.iterdir()) == []


def test_a_failed_run_into_an_empty_folder_of_the_user_keeps_the_folder_empty(model_files, workdir, monkeypatch,
                                                                              capsys):
    out = workdir / "mine"
    out.mkdir()
    fail_after(monkeypatch, 2)
    code, _, err = run_cli(["sample", "--model", model_files["flow-class"], "--num", "2", "--steps", "2", "--quiet",
                            "--out", str(out)], capsys)
    assert code == 2 and "No space left" in err
    assert out.is_dir() and list(out.iterdir()) == []

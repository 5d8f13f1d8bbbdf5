"""Shared pieces of the hostile-input tests: tiny model files and the "refused cleanly" check.

A refusal is: exit code 2, exactly one line on stderr ("difflab: error: …", or argparse's own), no traceback,
and not one file added, removed or changed under the working folder (the default runs/ lives there).
The CLI runs in-process (`difflab.cli.main`), so a case costs milliseconds, not an interpreter start.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch

from difflab.checkpoints import save_model_file
from difflab.cli import main
from difflab.models.course import CourseSpec
from difflab.models.unet import CourseUNet


def tiny_model(folder: Path, objective: str = "flow", conditioning: str = "time+class", hidden: int = 4) -> Path:
    """A random D = `hidden` course model file (its BatchNorm statistics left at their defaults)."""
    torch.manual_seed(0)
    net = CourseUNet(hidden=hidden, conditioning=conditioning, time_mode="mul" if objective == "flow" else "add")
    spec = CourseSpec(objective=objective, unet=net.config)
    return save_model_file(folder / f"{objective}-{conditioning.replace('+', '-')}.safetensors", net.state_dict(),
                           spec.to_dict())


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile-models")
    return {"flow": str(tiny_model(folder, "flow")), "ddpm": str(tiny_model(folder, "ddpm")),
            "uncond": str(tiny_model(folder, "flow", "time"))}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root` with its size and mtime: what "no new files" compares."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            out[str(path.relative_to(root))] = (stat.st_size if name in filenames else 0, stat.st_mtime_ns)
    return out


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A fresh working folder with an (empty) runs/ in it, as a user's project would have."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    return tmp_path


@pytest.fixture
def refused(workdir, capsys):
    """check(argv) → the one error line; asserts exit 2, one line, no traceback, nothing written."""
    def check(argv: list[str]) -> str:
        before = tree(workdir)
        code, _, err = run_cli([str(a) for a in argv], capsys)
        lines = err.strip().splitlines()
        assert code == 2, f"{argv}: exit {code}\n{err}"
        assert len(lines) == 1 and re.match(r"^difflab( [\w-]+)*: error: \S", lines[0]), f"{argv}:\n{err}"
        assert "Traceback" not in err
        assert tree(workdir) == before, f"{argv} wrote files"
        return lines[0]
    return check

"""Helpers of the hostile-input tests (issue 14): run the CLI in-process and check a refusal.

A refusal is: exit code 2, exactly one line on stderr ("difflab: error: …", or argparse's own),
no traceback, and not one file added, removed or changed under the working folder (the default
runs/ lives there). The CLI runs in-process (`difflab.cli.main`), so a case costs milliseconds.
The `workdir` and `refused` fixtures (tests/conftest.py) wrap these.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from difflab.cli import main


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
    """(exit code, stdout, stderr) of `difflab ARGV`, run in this process."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def check_refused(argv: list[str], workdir: Path, capsys) -> str:
    """The one error line of a refused command; asserts everything a refusal promises."""
    before = tree(workdir)
    code, _, err = run_cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, f"{argv}: exit {code}\n{err}"
    assert len(lines) == 1 and re.match(r"^difflab( [\w-]+)*: error: \S", lines[0]), f"{argv}:\n{err}"
    assert "Traceback" not in err
    assert tree(workdir) == before, f"{argv} wrote files"
    return lines[0]

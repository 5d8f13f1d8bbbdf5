"""Run folders: every command writes one, holding its resolved config, outputs and records.

A run folder is never reused by accident: `new_run_dir` refuses a folder that exists and is not
empty (training resumes into its own folder explicitly with --resume). Everything inside is
written atomically, and `records.jsonl` holds one JSON line per output image with what is needed
to reproduce it (model, seed, prompts or classes, steps, γ, i_start, views …).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .atomic import append_jsonl, write_json
from .errors import UserError

DEFAULT_ROOT = "runs"


def new_run_dir(out: str | os.PathLike | None, prefix: str, root: str | os.PathLike = DEFAULT_ROOT) -> Path:
    """Create and return a fresh run folder: `out`, or ``runs/<prefix>-<YYYYmmdd-HHMMSS>``."""
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path, n = Path(root) / f"{prefix}-{stamp}", 1
        while path.exists():
            n += 1
            path = Path(root) / f"{prefix}-{stamp}-{n}"
    else:
        path = Path(out).expanduser()
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UserError(f"output folder {path} already exists and is not empty; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"cannot write to output folder {path}: {err.strerror or err}") from None
    return path


def write_config(run_dir: Path, config: dict, overwrite: bool = False) -> None:
    """The resolved configuration of the run, as run_dir/config.json."""
    write_json(Path(run_dir) / "config.json", config, overwrite=overwrite)


def append_record(run_dir: Path, record: dict) -> None:
    """One JSON line per output in run_dir/records.jsonl."""
    append_jsonl(Path(run_dir) / "records.jsonl", record)

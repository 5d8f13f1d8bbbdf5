"""Run folders: every command writes one, holding its resolved config, outputs and records.

A run folder is never reused by accident: `new_run_dir` refuses a folder that exists and is not
empty (training resumes into its own folder explicitly with --resume). Everything inside is
written atomically, and `records.jsonl` holds one JSON line per output image with what is needed
to reproduce it (model, seed, prompts or classes, steps, γ, i_start, views …).

A command that fails after making its folder (a full disk, a bad input found late) leaves no
half-run behind: inside `removed_on_failure` (the CLI wraps every command in it) a folder made by
`new_run_dir` is deleted again when the command raises, unless it was marked `resumable` (a
training run, whose checkpoint and logs `train --resume` continues from).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterator

from .atomic import append_jsonl, write_json
from .errors import UserError

DEFAULT_ROOT = "runs"
_made: list[tuple[Path, bool]] = []  # new_run_dir's folders: (path, whether the user had made it, empty)
_resumable: set[Path] = set()


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
    existed = path.is_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"cannot write to output folder {path}: {err.strerror or err}") from None
    _made.append((path, existed))
    return path


def resumable(run_dir: Path) -> None:
    """Keep `run_dir` when its command fails: it records what completed and can be resumed."""
    _resumable.add(Path(run_dir))


@contextlib.contextmanager
def removed_on_failure() -> Iterator[None]:
    """Delete the run folders made inside this block if it raises. Ctrl-C keeps them: a record line
    is written only once its image is complete, so what a stopped folder records did complete."""
    start = len(_made)
    try:
        yield
    except Exception:
        for path, existed in _made[start:]:
            if path not in _resumable:
                _remove(path, keep_folder=existed)
        raise
    finally:
        del _made[start:]


def _remove(path: Path, keep_folder: bool) -> None:
    """Delete a failed run's folder (or only its contents, if the user made the empty folder)."""
    if not keep_folder:
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()


def write_config(run_dir: Path, config: dict, overwrite: bool = False) -> None:
    """The resolved configuration of the run, as run_dir/config.json."""
    write_json(Path(run_dir) / "config.json", config, overwrite=overwrite)


def append_record(run_dir: Path, record: dict) -> None:
    """One JSON line per output in run_dir/records.jsonl."""
    append_jsonl(Path(run_dir) / "records.jsonl", record)


def read_json(path: Path, what: str = "file") -> object:
    """A JSON file's value; one line naming the file and the problem if it is not JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {what} {path}: {getattr(err, 'strerror', None) or err}") from None
    except ValueError as err:
        raise UserError(f"{what} {path} is not valid JSON ({err})") from None


def read_jsonl(path: Path, key: str | None = None, torn_tail: bool = False) -> list[dict]:
    """The records of a JSON-lines file, each an object (with an integer `key` when given).

    A bad line is an error naming its number, never skipped; with `torn_tail` a bad last line is
    dropped instead (what a write killed half-way leaves).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    records = []
    for number, line in enumerate(lines, 1):
        record = _record(line, key)
        if record is None and line.strip():
            if torn_tail and number == len(lines):
                break
            raise UserError(f"{path} line {number} is not a difflab record ({line[:40]!r}); "
                            f"repair or delete that line")
        if record is not None:
            records.append(record)
    return records


def _record(line: str, key: str | None) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if key is not None and (isinstance(record.get(key), bool) or not isinstance(record.get(key), int)):
        return None
    return record


def inside(folder: Path, name: str) -> bool:
    """Whether `name`, as a run's record gives it, is a relative path that stays inside `folder`
    (no absolute path, no '..', no link pointing out)."""
    if not isinstance(name, str) or not name or "\0" in name:
        return False
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        return False
    root = Path(folder).resolve()
    return (root / relative).resolve().is_relative_to(root)

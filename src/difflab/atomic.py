"""Atomic, never-overwriting file output.

Every file difflab writes goes through `atomic_write`: the bytes land in a temporary file in the
same folder and are renamed into place only once complete, so a killed process never leaves a
half-written image, JSON record or checkpoint behind. The temporary file is named
``.NAME.PID.XXXXXXXX.tmp`` (NAME shortened if needed; the final name never is): a process killed
mid-write leaves it behind, and the next write into that folder removes every one whose PID is
gone (`clean_temporaries`; ``train --resume`` removes them all). An I/O error (disk full, no
permission, name too long) becomes one `UserError` naming the file, and nothing is left half-done.
JSON is always valid JSON: a non-finite float is written as null.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import UserError, WriteError

_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]{8}\.tmp$")  # .NAME.PID.XXXXXXXX.tmp
_OLD_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")      # before the PID was in the name
_NAME_MAX = 255
_cleaned: set[Path] = set()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, overwrite: bool = False, mode: str = "wb") -> Iterator[Any]:
    """Yield a file object; on success it replaces `path` atomically (fsync + rename).

    Refuses to replace an existing file unless `overwrite` is True.
    """
    path = Path(path)
    try:
        exists = path.exists()
    except OSError as err:  # a name too long, a parent that is a file
        raise WriteError(f"cannot write {path}: {err.strerror or err}") from None
    if exists and not overwrite:
        raise UserError(f"{path} already exists; refusing to overwrite it (choose another output or remove it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_temporaries(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    except OSError as err:
        raise WriteError(f"cannot write to {path.parent}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise WriteError(f"cannot write {path}: {err.strerror or err}") from None
        raise


def _temporary_prefix(name: str) -> str:
    """".NAME.PID." with NAME cut so the whole temporary name fits in one path component."""
    tail = f".{os.getpid()}."
    room = _NAME_MAX - len(tail) - len(".") - 8 - len(".tmp")
    encoded = name.encode()[:room].decode(errors="ignore")
    return f".{encoded}{tail}"


def clean_temporaries(folder: str | os.PathLike, everything: bool = False) -> list[Path]:
    """Remove leftover temporary files of killed writes in `folder` (once per folder and process).

    A file whose PID is still running belongs to a live writer and stays, unless `everything`
    (the caller owns the folder, as `train --resume` does); one without a PID (older difflab) goes
    only with `everything`.
    """
    folder = Path(folder)
    if folder in _cleaned and not everything:
        return []
    _cleaned.add(folder)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = _TEMPORARY.match(entry.name)
            if not (match or _OLD_TEMPORARY.match(entry.name)) or not entry.is_file(follow_symlinks=False):
                continue
            if everything or (match and not _running(int(match.group(1)))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process (or an impossible number): leave its file alone
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_safe(data: Any) -> Any:
    """`data` with every non-finite float replaced by None, so that it is valid JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: json_safe(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(value) for value in data]
    return data


def json_line(record: dict) -> str:
    """One valid JSON line (non-finite numbers as null)."""
    return json.dumps(json_safe(record), sort_keys=True, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, data: Any, overwrite: bool = False) -> None:
    """Write `data` as indented JSON, atomically (non-finite numbers as null)."""
    with atomic_write(path, overwrite=overwrite, mode="w") as handle:
        json.dump(json_safe(data), handle, indent=2, sort_keys=True, allow_nan=False)
        handle.write("\n")


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line with a single write, flushed to disk; on an I/O error the file is cut
    back to its previous length, so it never ends in a torn line."""
    line = json_line(record).encode()
    path = Path(path)
    try:
        with open(path, "ab", buffering=0) as handle:
            size = handle.seek(0, os.SEEK_END)
            try:
                if handle.write(line) != len(line):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a short write: disk full
                os.fsync(handle.fileno())
            except OSError:
                with contextlib.suppress(OSError):
                    handle.truncate(size)
                raise
    except OSError as err:
        raise WriteError(f"cannot write {path}: {err.strerror or err}") from None

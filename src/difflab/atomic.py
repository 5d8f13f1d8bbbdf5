"""Atomic, never-overwriting file output.

Every file difflab writes goes through `atomic_write`: the bytes land in a temporary file in the
same folder and are renamed into place only once complete, so a killed process never leaves a
half-written image, JSON record or checkpoint behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import UserError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, overwrite: bool = False, mode: str = "wb") -> Iterator[Any]:
    """Yield a file object; on success it replaces `path` atomically (fsync + rename).

    Refuses to replace an existing file unless `overwrite` is True.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise UserError(f"{path} already exists; refusing to overwrite it (choose another output or remove it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    except OSError as err:
        raise UserError(f"cannot write to {path.parent}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data: Any, overwrite: bool = False) -> None:
    """Write `data` as indented JSON, atomically."""
    with atomic_write(path, overwrite=overwrite, mode="w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line; a line is written with a single write call and flushed to disk."""
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())

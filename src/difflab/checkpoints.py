"""Model files: safetensors weights plus a JSON spec in the header — never pickle.

A model file holds the weights of one network and, in its metadata, the `spec` that says how to
rebuild and use it (architecture config, objective, path, dataset, class names) together with any
extra records (training config, metrics). `load_model_file` is all a user needs to get it back.
Writes go through `difflab.atomic.atomic_write`: never half-written, never silently overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from .atomic import atomic_write, json_safe
from .errors import UserError

FORMAT = "difflab-model/1"
MAX_HEADER = 100_000_000  # bytes; safetensors' own limit
SpecCheck = Callable[[dict, dict], None]


def save_model_file(path: str | os.PathLike, state_dict: dict[str, torch.Tensor], spec: dict,
                    records: dict | None = None, dtype: torch.dtype | None = None,
                    overwrite: bool = False) -> Path:
    """Write weights (optionally cast to `dtype`, e.g. float16 to ship) with the spec in the header."""
    tensors = {}
    for name, value in state_dict.items():
        value = value.detach().to("cpu").contiguous()
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        tensors[name] = value
    metadata = {"format": FORMAT, "spec": json.dumps(json_safe(spec), sort_keys=True, allow_nan=False),
                "records": json.dumps(json_safe(records or {}), sort_keys=True, allow_nan=False)}
    payload = save_bytes(tensors, metadata=metadata)
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(payload)
    return Path(path)


def load_model_file(path: str | os.PathLike, check: SpecCheck | None = None
                    ) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """Read (state_dict in float32, spec, records) from a difflab model file.

    Nothing is trusted: the header is read and checked first (its size, its JSON, the format tag,
    the spec and records), then `check(spec, shapes)` (shapes: tensor name → shape list, read from
    the header) may raise ValueError at the first problem, all before a tensor is read; then the
    weights must be finite. Every failure is one `UserError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    shapes, metadata = read_header(path)
    if metadata.get("format") != FORMAT:
        raise UserError(f"{path} is not a difflab model file (no {FORMAT} header)")
    try:
        spec, records = json.loads(metadata.get("spec", "")), json.loads(metadata.get("records", "{}"))
        if not isinstance(spec, dict) or not isinstance(records, dict):
            raise ValueError("its spec and records must be JSON objects")
        if check is not None:
            check(spec, shapes)
    except (ValueError, TypeError, KeyError) as err:
        raise UserError(f"{path}: {_first_line(err)}") from None
    try:
        tensors = load_bytes(path.read_bytes())
    except (SafetensorError, ValueError, OSError) as err:
        raise UserError(f"{path} is not a readable safetensors file ({_first_line(err)})") from None
    bad = next((name for name, value in tensors.items() if value.is_floating_point()
                and not torch.isfinite(value).all()), None)
    if bad is not None:
        raise UserError(f"{path}: tensor {bad} holds NaN or infinite weights; the model cannot be used")
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    return state, spec, records


def read_header(path: Path) -> tuple[dict[str, list[int]], dict[str, str]]:
    """(tensor name → shape, metadata) from a safetensors header, reading nothing else."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if size < 10:
                raise ValueError(f"it has only {size} bytes")
            if not 2 <= length <= min(MAX_HEADER, size - 8):
                raise ValueError(f"its header claims {length} bytes; the file has {size}")
            header = json.loads(handle.read(length))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        metadata = header.pop("__metadata__", None) or {}
        shapes = {name: _shape(entry) for name, entry in header.items()}
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise ValueError("the header's metadata is not a table of strings")
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not a readable safetensors file ({_first_line(err)})") from None
    return shapes, metadata


def _shape(entry) -> list[int]:
    shape = entry.get("shape") if isinstance(entry, dict) else None
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"a tensor entry without a shape: {str(entry)[:60]}")
    return shape


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]

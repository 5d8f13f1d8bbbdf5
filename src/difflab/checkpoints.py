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

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from .atomic import atomic_write
from .errors import UserError

FORMAT = "difflab-model/1"


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
    metadata = {"format": FORMAT, "spec": json.dumps(spec, sort_keys=True),
                "records": json.dumps(records or {}, sort_keys=True)}
    payload = save_bytes(tensors, metadata=metadata)
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(payload)
    return Path(path)


def load_model_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """Read (state_dict in float32, spec, records) from a difflab model file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    try:
        data = path.read_bytes()
        tensors = load_bytes(data)
        header_len = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8:8 + header_len]).get("__metadata__", {})
    except (SafetensorError, ValueError, OSError) as err:
        raise UserError(f"{path} is not a readable safetensors file ({str(err).splitlines()[0]})") from None
    if metadata.get("format") != FORMAT:
        raise UserError(f"{path} is not a difflab model file (no {FORMAT} header)")
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    return state, json.loads(metadata["spec"]), json.loads(metadata.get("records", "{}"))

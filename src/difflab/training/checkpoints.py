"""Training state on disk: everything `--resume` needs to continue as if never stopped.

A training checkpoint is one safetensors file (never pickle), written atomically, holding

* tensors ``model.*`` (the trained weights and BatchNorm buffers), ``ema.*`` (the averaged copy)
  and ``optimizer.<i>.<key>`` (Adam's exp_avg, exp_avg_sq and step of parameter i);
* metadata: the format tag, the run's config (JSON) and the position (JSON): optimizer steps done,
  the epoch and the batches done within it, elapsed times, and each param group's lr.

No random-generator state needs saving: every random draw of training comes from a generator
seeded by (seed, epoch) for the data order or (seed, step) for a batch's noise, time and class
dropout (see `loop.generator`), so the position alone fixes all the randomness to come, in every
process of a multi-process run (each takes its shard of the same draws). The position also holds
the fp16 GradScaler's state (its scale and growth counter), the one other state a step changes.
It is distinct from a model file (`difflab.checkpoints`), which holds one set of weights to use.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes
from torch import nn

from ..atomic import atomic_write, json_line
from ..errors import UserError
from ..runs import read_jsonl

FORMAT = "difflab-train-state/1"


@dataclass
class Position:
    """Where a run stands: `step` optimizer steps done; `batch` batches done within `epoch` (0-based)."""

    step: int = 0
    epoch: int = 0
    batch: int = 0
    elapsed_s: float = 0.0      # wall time of the run so far, sampling and checkpoints included
    train_s: float = 0.0        # time spent in training steps and their log lines (for img/s)
    scaler: dict = field(default_factory=dict)  # torch.amp.GradScaler.state_dict() of an fp16 run


def save_train_state(path: str | os.PathLike, net: nn.Module, ema: nn.Module | None,
                     optimizer: torch.optim.Optimizer, position: Position, config: dict) -> Path:
    """Write the whole training state to `path` atomically (replacing the previous one)."""
    tensors = {f"model.{k}": v for k, v in net.state_dict().items()}
    if ema is not None:
        tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    optim = optimizer.state_dict()
    for index, entry in optim["state"].items():
        for key, value in entry.items():
            if not torch.is_tensor(value):
                raise TypeError(f"cannot checkpoint non-tensor optimizer state {key!r}")
            tensors[f"optimizer.{index}.{key}"] = value
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "config": json.dumps(config, sort_keys=True),
                "position": json.dumps(asdict(position)),
                "lr": json.dumps([group["lr"] for group in optim["param_groups"]])}
    payload = save_bytes(tensors, metadata=metadata)
    with atomic_write(path, overwrite=True) as handle:
        handle.write(payload)
    return Path(path)


def load_train_state(path: str | os.PathLike, net: nn.Module, ema: nn.Module | None,
                     optimizer: torch.optim.Optimizer) -> tuple[Position, dict]:
    """Restore net, EMA and optimizer in place from `path`; return (position, config)."""
    path = Path(path)
    try:
        data = path.read_bytes()
        tensors = load_bytes(data)
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    except (OSError, SafetensorError, ValueError) as err:
        raise UserError(f"cannot read training checkpoint {path} ({str(err).splitlines()[0]})") from None
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        raise UserError(f"{path} is not a difflab training checkpoint (no {FORMAT} header)")
    try:
        return _restore(tensors, metadata, net, ema, optimizer)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{path} is a damaged training checkpoint ({reason[:200]}); delete it to restart "
                        f"the run from its beginning") from None


def steps_done(path: str | os.PathLike) -> int:
    """Optimizer steps recorded by the training checkpoint at `path` (0 if there is none), from its header."""
    path = Path(path)
    if not path.is_file():
        return 0
    try:
        with safe_open(str(path), framework="pt") as handle:
            return int(json.loads(handle.metadata()["position"])["step"])
    except (OSError, SafetensorError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"cannot read training checkpoint {path} ({str(err).splitlines()[0]})") from None


def _restore(tensors: dict, metadata: dict, net: nn.Module, ema: nn.Module | None,
             optimizer: torch.optim.Optimizer) -> tuple[Position, dict]:
    """Load the parts in place (the net, the EMA, Adam's moments); raise on any mismatch."""
    position, config, lrs = (json.loads(metadata[key]) for key in ("position", "config", "lr"))
    position = Position(**position)
    numbers = {k: v for k, v in vars(position).items() if k != "scaler"}
    if not isinstance(position.scaler, dict) or not all(isinstance(v, (int, float)) and v >= 0
                                                        for v in numbers.values()):
        raise ValueError(f"bad position {vars(position)}")
    if not all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point()):
        raise ValueError("it holds NaN or infinite values")

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    net.load_state_dict(part("model."))
    if ema is not None:
        ema.load_state_dict(part("ema."))
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in part("optimizer.").items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if len(lrs) != len(optimizer.param_groups) or any(
            index not in range(len(params)) or any(key != "step" and value.shape != params[index].shape
                                                   for key, value in entry.items())
            for index, entry in state.items()):
        raise ValueError("its optimizer state does not fit the net")
    optim = optimizer.state_dict()
    optim["state"] = state
    for group, lr in zip(optim["param_groups"], lrs):
        group["lr"] = float(lr)
    optimizer.load_state_dict(optim)
    return position, config


def truncate_logs(run_dir: Path, position: Position) -> None:
    """Drop log lines written after the checkpoint a run resumes from, and a last line torn by the
    kill; any other line that is not a record stops the resume (history is never dropped)."""
    logs = {}  # both read (and checked) before either is rewritten
    for name, key, limit in (("stats.jsonl", "step", position.step), ("epochs.jsonl", "epoch", position.epoch)):
        path = Path(run_dir) / name
        if path.is_file():
            logs[path] = [json_line(r) for r in read_jsonl(path, key, torn_tail=True) if r[key] <= limit]
    for path, kept in logs.items():
        with atomic_write(path, overwrite=True, mode="w") as handle:
            handle.writelines(kept)

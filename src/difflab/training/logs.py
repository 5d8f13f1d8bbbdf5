"""The per-step log of a run (stats.jsonl), written by the main process only.

One line per optimizer step: step, epoch, the global batch's loss, lr, img/s. Reading a loss
back from the device waits for the device to finish, so on a GPU the lines are written in groups
of `GPU_LOG_EVERY` steps (the loop keeps running ahead meanwhile); on the CPU every step is
written at once. A group's time is shared evenly by its steps. Before a checkpoint, at the end of
an epoch and when a run stops, the log is flushed, so the lines on disk always reach the
checkpoint's step (`checkpoints.truncate_logs` drops any written after it when a run resumes).
A loss that is not finite stops the run there, before its line or any checkpoint is written: the
weights that made it never reach the disk.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch

from ..atomic import json_line
from ..errors import UserError

GPU_LOG_EVERY = 50


class StepLog:
    """Buffered stats.jsonl lines; `reduce` averages the losses over the processes (collective)."""

    def __init__(self, path: Path | None, every: int, reduce, diverged_hint: str = ""):
        self.handle = open(path, "a", encoding="utf-8", buffering=1) if path is not None else None
        self.every, self.reduce, self.diverged_hint = every, reduce, diverged_hint
        self.pending: list[tuple[dict, torch.Tensor]] = []
        self.restart_clock()

    def restart_clock(self) -> None:
        self.window_start = time.perf_counter()

    def add(self, step: int, epoch: int, loss: torch.Tensor, lr: float, images: int):
        """Queue one step's line; returns what `flush` returns when the group is full, else None."""
        self.pending.append((dict(step=step, epoch=epoch, lr=lr, images=images), loss))
        return self.flush() if len(self.pending) >= self.every else None

    def flush(self) -> tuple[float, float] | None:
        """Write the queued lines; (their seconds, the last loss), or None if none were queued."""
        if not self.pending:
            return None
        losses = self.reduce(torch.stack([loss for _, loss in self.pending]).float()).tolist()
        seconds = time.perf_counter() - self.window_start
        per_step = seconds / len(self.pending)
        for (entry, _), loss in zip(self.pending, losses):
            if not math.isfinite(loss):  # every process sees the same mean, so all stop here
                self.pending.clear()
                raise UserError(f"training diverged at step {entry['step']} (loss {loss}); {self.diverged_hint}")
            if self.handle is not None:
                self.handle.write(json_line({"step": entry["step"], "epoch": entry["epoch"], "loss": loss,
                                             "lr": entry["lr"], "img_per_s": round(entry["images"] / per_step, 2)}))
        self.pending.clear()
        self.restart_clock()
        return seconds, losses[-1]

    def sync_to_disk(self) -> None:
        if self.handle is not None:
            self.handle.flush()
            os.fsync(self.handle.fileno())

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()

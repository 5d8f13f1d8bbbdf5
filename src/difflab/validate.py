"""Argument rules every command shares, checked before a run folder or a model exists.

One function per rule, each raising `UserError` with a message that names the flag and what it
allows; the commands (and the UI, which calls the same run functions) call these first.

Bounds on work. A command refuses more than `MAX_IMAGES` images or `MAX_STEPS` grid steps, and
`eval` more than `MAX_EVAL_SAMPLES` samples, unless ``--allow-long-runs`` is given: a typo such as
``--num 1000000000`` should fail in a second, not run until killed. The numbers: IF and the course
DDPM have at most 1000 timesteps, and a flow model's Euler grid has converged long before 1000
steps; 1000 images is already ~1 GPU-hour on IF and the biggest panel anyone reads; FID/KID are
usually quoted at N ≤ 10 000 on MNIST-size data (the course uses 1000).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

from .errors import UserError

MAX_IMAGES = 1000
MAX_STEPS = 1000
MAX_EVAL_SAMPLES = 10_000
MAX_EPOCHS = 1000                # the course trains 5–20 epochs
ALLOW_LONG = "--allow-long-runs"
SEED_MAX = 2 ** 64 - 1           # torch.Generator.manual_seed takes 0 … 2⁶⁴ − 1
NAME_MAX = 255                   # bytes in one path component on Linux, macOS and Windows file systems
PATH_ROOM = 4096 - NAME_MAX - 1  # PATH_MAX less room for the files a run writes inside its folder


def add_allow_long(parser) -> None:
    """The flag that lifts the bounds on work (shared by every command that has them)."""
    parser.add_argument(ALLOW_LONG, action="store_true",
                        help=f"allow more than {MAX_IMAGES} images, {MAX_STEPS} steps or "
                             f"{MAX_EVAL_SAMPLES} eval samples (refused by default, to catch typos)")


def integer(value, flag: str, low: int | None = None, high: int | None = None) -> int:
    """An int within [low, high] (either end open when None); bools are not ints here."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{flag} must be an integer, not {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise UserError(f"{flag} must be {_range(low, high)}, not {value}")
    return value


def number(value, flag: str, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> float:
    """A finite float within [low, high] ((low, high] when `low_open`); nan and ±inf are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"{flag} must be a finite number, not {value!r}")
    below = value <= low if low_open and low is not None else low is not None and value < low
    if below or (high is not None and value > high):
        raise UserError(f"{flag} must be {_range(low, high, low_open)}, not {value:g}")
    return float(value)


def _range(low, high, low_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{_text(low)}, {_text(high)}]"
    if low is not None:
        return f"{'>' if low_open else '≥'} {_text(low)}"
    return f"≤ {_text(high)}"


def _text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def work(flag: str, value: int, bound: int, allow_long: bool, what: str) -> None:
    """Refuse `value` units of work above `bound` unless --allow-long-runs."""
    if value > bound and not allow_long:
        raise UserError(f"{flag} asks for {value} {what}, more than {bound}; add {ALLOW_LONG} if you mean it")


def seeds(first, count: int, flag: str = "--seed") -> int:
    """The seeds first … first + count − 1 must all be valid generator seeds (0 … 2⁶⁴ − 1)."""
    if isinstance(first, bool) or not isinstance(first, int) or not 0 <= first <= SEED_MAX:
        raise UserError(f"{flag} must be an integer from 0 to 2**64-1 = {SEED_MAX}, not {first}")
    if first + count - 1 > SEED_MAX:
        raise UserError(f"{flag} {first} with {count} images reaches seed {first + count - 1}, past "
                        f"2**64-1; use {flag} ≤ {SEED_MAX - count + 1}")
    return first


def unique(values: Sequence, flag: str) -> list:
    """A list with no value twice (two outputs would claim one file name)."""
    seen: list = []
    for value in values:
        if value in seen:
            raise UserError(f"{flag} lists {value!r} twice; give each value once")
        seen.append(value)
    return seen


def device(name: str | None, flag: str = "--device") -> str | None:
    """cpu, cuda, cuda:N or mps, and only if this torch can reach it (None: choose automatically)."""
    if name is None or name == "auto":
        return name
    import torch

    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"unknown {flag} {name!r}; use cpu, cuda, cuda:N or mps")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"{flag} {name}: this torch sees no CUDA GPU (torch {torch.__version__}); use cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserError(f"{flag} {name}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"{flag} {name}: MPS is not available here; use cpu")
    return name


def output_folder(out, flag: str = "--out") -> None:
    """A folder path the file system can hold, with room for the files written inside it."""
    if out is None:
        return
    text = os.fsdecode(out)
    if not text.strip() or "\0" in text:
        raise UserError(f"{flag} must be a folder path, not {text!r}")
    path = Path(text).expanduser()
    long_part = next((p for p in path.parts if len(os.fsencode(p)) > NAME_MAX), None)
    if long_part is not None:
        raise UserError(f"{flag}: the name {long_part[:40]}… is {len(os.fsencode(long_part))} bytes long; "
                        f"file systems allow {NAME_MAX}")
    if len(os.fsencode(str(path.absolute()))) > PATH_ROOM:
        raise UserError(f"{flag} is too long ({len(str(path.absolute()))} characters); keep it under {PATH_ROOM}")

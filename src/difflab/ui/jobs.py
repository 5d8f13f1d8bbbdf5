"""Running a `difflab` command for the page: the same parser, the same `run`, the same run folder.

A `Job` parses a command line with the CLI's own parser and calls the very function the CLI calls
(``args.func(args)``) in a worker thread, with a `Caller` that reports every step (for the live
view and progress) and stops the run when cancelled. Models stay loaded between jobs (`ModelCache`).
Each job writes its own fresh run folder (`new_out`), so jobs of several browser tabs never share
one. Images the page sends (uploads, sketches, masks) are saved once under ``<root>/inputs``,
named by their content, so the command line that refers to them remakes the result later.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import queue
import shlex
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, Sequence

from PIL import Image

from ..atomic import atomic_write
from ..commands._common import Caller
from ..errors import UserError
from ..models.registry import load_denoiser
from ..sampling import StepState

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside the worker thread at the next step after the user pressed Cancel."""


class ModelCache:
    """Loaded models by (name, device, options), shared by every job of the app (loads are locked)."""

    def __init__(self):
        self._models: dict = {}
        self._lock = threading.Lock()

    def load(self, name: str, device=None, **options):
        key = (name, str(device), tuple(sorted(options.items())))
        with self._lock:
            if key not in self._models:
                self._models[key] = load_denoiser(name, device=device, **options)
            return self._models[key]


class Job:
    """One command line run in a worker thread; `watch()` yields its steps as they happen."""

    def __init__(self, argv: Sequence[str], models: ModelCache):
        self.argv = list(argv)
        self.models = models
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.error: str | None = None
        self.cancelled = False
        self.steps_done = 0
        self._latest: StepState | None = None
        self._wake = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=f"difflab-ui-{self.argv[0]}", daemon=True)

    @property
    def out(self) -> Path:
        return Path(self.argv[self.argv.index("--out") + 1])

    def start(self) -> "Job":
        self._thread.start()
        return self

    def _on_step(self, state: StepState) -> None:
        if self.cancel.is_set():
            raise Cancelled()
        self._latest, self.steps_done = state, self.steps_done + 1
        self._wake.put(True)

    def _work(self) -> None:
        try:
            args = parse(self.argv)
            args.caller = Caller(on_step=self._on_step, load_model=self.models.load)
            args.func(args)
        except Cancelled:
            self.cancelled = True
        except UserError as err:
            self.error = str(err)
        except Exception as err:  # a bug: the page says so in one line, the server log keeps the traceback
            log.exception("difflab ui: %s failed", shlex.join(self.argv))
            self.error = f"internal error ({type(err).__name__}: {err}); the server log has the details"
        finally:
            self.done.set()
            self._wake.put(False)

    def watch(self, poll: float = 0.25) -> Iterator[StepState | None]:
        """The latest step each time one is reported (None while waiting), until the job ends."""
        while not self.done.is_set():
            try:
                self._wake.get(timeout=poll)
            except queue.Empty:
                yield None
                continue
            while not self._wake.empty():  # several steps since the last look: show the newest
                self._wake.get_nowait()
            if self._latest is not None and not self.done.is_set():
                yield self._latest
        self._thread.join()


def parse(argv: Sequence[str]):
    """The CLI's own parse; its one-line argparse error becomes a UserError.

    argparse prints that line to stderr and exits; stderr is captured for the moment of parsing only.
    """
    from ..cli import build_parser

    messages = io.StringIO()
    try:
        with contextlib.redirect_stderr(messages):
            return build_parser().parse_args(list(argv))
    except SystemExit:
        lines = messages.getvalue().strip().splitlines()
        raise UserError(lines[-1] if lines else f"bad command line: {shlex.join(argv)}") from None


def flag_choices(command: str, flag: str) -> list[str]:
    """The values the CLI accepts for a flag of a (sub-)command, e.g. ("sample", "--sampler")."""
    parser = _subparser(command.split())
    action = next(a for a in parser._actions if flag in a.option_strings)
    return sorted(action.choices or ())


def _subparser(words: Sequence[str]):
    from ..cli import build_parser

    parser = build_parser()
    for word in words:  # argparse keeps sub-commands as the choices of its _SubParsersAction
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
    return parser


def new_out(root: str | Path, command: str) -> str:
    """A run folder name of its own: <root>/<command>-<time>-<random>, unique across tabs and restarts."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return str(Path(root) / f"{command.replace(' ', '-')}-{stamp}-{uuid.uuid4().hex[:6]}")


def save_input(image: Image.Image, root: str | Path, kind: str = "image") -> str:
    """Save an image the page sent as <root>/inputs/<kind>-<sha256>.png once; return its path."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    path = Path(root) / "inputs" / f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}.png"
    if not path.exists():
        with contextlib.suppress(UserError):  # another tab saved the same bytes first: same file
            with atomic_write(path) as handle:
                handle.write(data)
    return str(path)


def read_records(run_dir: str | Path) -> list[dict]:
    """The run folder's records.jsonl, one dict per image (empty if nothing was written)."""
    path = Path(run_dir) / "records.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

"""What every tab's callback shares: the app's settings, running a job with progress, live view and
Cancel, turning its failure into a message in the page, and describing its run folder.

Callbacks are generators (Gradio streams their yields). A user mistake the CLI would print as
``difflab: error: …`` is raised as `gr.Error` with the same sentence (`problem`), as is a cancelled job.
"""

from __future__ import annotations

import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import gradio as gr
import torch
from PIL import Image

from ..data import load_image, to_pil
from ..defaults import GRID_STEPS
from ..frames import Frame, frame_picture
from ..models.registry import DEFAULT_MODEL
from .jobs import Job, ModelCache, read_records

LIVE_SIZE = 256  # the live view is scaled up (nearest) to at least this many pixels high


@dataclass
class App:
    """Settings every callback reads: where run folders go, the loaded models, the live view's rate."""

    root: Path = Path("runs")
    model: str = DEFAULT_MODEL
    live_every: int = 2
    models: ModelCache = field(default_factory=ModelCache)
    previews: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="difflab-ui-")))
    jobs: dict = field(default_factory=dict)  # (browser session, tab) → its running Jobs, for Cancel

    def load(self, model: str):
        try:
            return self.models.load(model)
        except Exception as err:  # UserError (unknown name) or a broken file: a message, not a traceback
            raise problem(f"cannot load model {model!r}: {err}") from None


def problem(message: str, title: str = "Error") -> gr.Error:
    """A message for the page (the user's to fix): no traceback in the page or the server log."""
    return gr.Error(message, title=title, print_exception=False)


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "local"


def cancel(app: App, tab: str, request: gr.Request | None = None) -> None:
    """Stop this browser session's jobs on this tab at their next step."""
    for job in list(app.jobs.get((session_of(request), tab), ())):
        job.cancel.set()


def model_flags(model: str, steps, sampler: str | None, guidance, seed, num, out: str) -> list[str]:
    """The flags every model command takes, from the shared widgets (empty steps/γ/sampler: the command's)."""
    argv = ["--model", model, "--seed", str(whole(seed, "seed")), "--num", str(whole(num, "number of images")),
            "--out", out, "--quiet"]
    if steps not in (None, ""):
        argv += ["--steps", str(whole(steps, "steps"))]
    if sampler and sampler != "default":
        argv += ["--sampler", sampler]
    if guidance is not None and guidance != "":
        argv += ["--guidance", repr(float(guidance))]
    return argv


def grid_steps(steps) -> int:
    """The Steps field as a number for the progress bar's estimate (empty: the course's grid)."""
    return GRID_STEPS if steps in (None, "") else whole(steps, "steps")


def whole(value, what: str) -> int:
    """A whole number from a Number widget (which may be empty), or a message."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise problem(f"the {what} must be a whole number, not {value!r}") from None
    if number != int(number):
        raise problem(f"the {what} must be a whole number, not {value}")
    return int(number)


def lines(text: str | None) -> list[str]:
    """One entry per non-empty line (prompts may hold commas)."""
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def live_picture(state, value_range: Sequence[float]) -> Image.Image:
    """x_t above x̂0 at this step, scaled up for the page."""
    frame = Frame(state.index, state.t, state.x_t.detach().cpu(), state.x0_hat.detach().cpu())
    return scaled(to_pil(frame_picture(frame), tuple(value_range)))


def run_job(app: App, tab: str, command: Sequence[str], flags: Sequence[str], request, progress,
            expected_steps: int, live: Callable[[Image.Image], tuple] | None = None):
    """Run ``difflab COMMAND FLAGS`` as a job; yield `live(picture)` every few steps; return the job.

    Use as ``job = yield from run_job(…)``. Raises gr.Error with the CLI's message if the job fails.
    """
    value_range = app.load(flags[flags.index("--model") + 1]).value_range if live else None
    job = Job([*command, *flags], app.models)
    key = (session_of(request), tab)
    app.jobs.setdefault(key, set()).add(job)
    job.start()
    try:
        for state in job.watch():
            if state is None:
                continue
            if progress is not None:
                progress(min(job.steps_done / max(expected_steps, 1), 0.99),
                         desc=f"step {job.steps_done} of about {expected_steps}")
            if live is not None and state.index % app.live_every == 0:
                yield live(live_picture(state, value_range))
    finally:
        if not job.done.is_set():  # the page went away or Gradio cancelled us: stop the worker too
            job.cancel.set()
        running = app.jobs.get(key, set())
        running.discard(job)
        if not running:
            app.jobs.pop(key, None)
    if job.cancelled:
        raise problem(f"cancelled; the run folder {job.out} holds what was finished", title="Cancelled")
    if job.error:
        raise problem(job.error)
    return job


def describe(job: Job) -> str:
    """Markdown: the run folder, the command line that makes it, and the one that remakes an image."""
    records = read_records(job.out)
    text = (f"**Run folder** `{job.out}` ({len(records)} image(s), config.json, records.jsonl)\n\n"
            f"**The same run from the command line**\n```\n{shlex.join(['difflab', *job.argv])}\n```\n")
    if records:
        text += f"**Remake the first image alone** (records.jsonl's argv)\n```\n{records[0]['command']}\n```\n"
    return text


def scaled(picture: Image.Image, height: int = LIVE_SIZE) -> Image.Image:
    """A picture scaled up (nearest, whole multiples) to at least `height` pixels high."""
    scale = max(1, -(-height // max(1, picture.height)))
    return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)


def tensor_of(path: str | Path, model) -> torch.Tensor:
    """A saved output back as (1, C, H, W) in the model's range (for views and animations)."""
    c, h, _ = model.image_shape
    return load_image(str(path), h, model.value_range, channels=c)

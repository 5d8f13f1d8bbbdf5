"""What the Part A commands share: flags, model and input loading, guidance, run folders, records.

Every image is made alone from its own `NoiseSource([seed])`, so ``--seed S --num 1`` remakes
image k of a ``--seed S−k`` run bit for bit, whatever ``--num`` was; each record carries the
exact command line (`argv`) that remakes its image. Inputs are all validated before the run
folder is created, so bad input leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from .. import validate
from ..data import save_image
from ..data.display import display_zoom
from ..defaults import GRID_STEPS, GUIDANCE, default_guidance as course_guidance, fast_sampling, unprompted
from ..errors import UserError
from ..frames import FrameRecorder, save_gif, save_strip
from ..guidance import GuidedDenoiser
from ..image_inputs import input_size, load_input  # noqa: F401 (the commands' own names for them)
from ..models.registry import DEFAULT_MODEL, is_deepfloyd, load_denoiser
from ..runs import append_record, new_run_dir, write_config
from ..sampling import StepState
from ..solvers import SOLVERS, Solver, default_solver, make_solver


def add_model_flags(parser: argparse.ArgumentParser, *, guidance_help: str | None = None) -> None:
    """--model --device --seed --num --steps --sampler --guidance --out --gif --quiet."""
    g = parser.add_argument_group("model and sampling")
    g.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"a shipped model name, a .safetensors file, a run folder or deepfloyd-if (default {DEFAULT_MODEL})")
    g.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    g.add_argument("--memory", default="auto", choices=("auto", "none", "model-offload", "sequential-offload"),
                   help="DeepFloyd IF only: GPU memory mode (default auto, from the free GPU memory)")
    g.add_argument("--prompt-embeds", default=None, metavar="FILE",
                   help="DeepFloyd IF only: precomputed prompt embeddings (.pth dict such as the course's "
                        "prompt_embeds_dict.pth, or .safetensors), looked up before the T5 encoder")
    g.add_argument("--seed", type=int, default=0, help="seed of the first image; image k uses seed + k (default 0)")
    g.add_argument("--num", type=int, default=1, help="images per prompt (default 1)")
    g.add_argument("--steps", type=int, default=None,
                   help=f"steps of the time grid, noise to clean (default {GRID_STEPS}: IF's 990→0 by 30; "
                        "`difflab sample` on a course model: its fast default, see --sampler)")
    add_solver_flags(g)
    g.add_argument("--guidance", type=float, default=None, help=guidance_help or
                   f"classifier-free guidance γ in u + γ(c − u) (default {GUIDANCE['text']:g} for text models, "
                   f"{GUIDANCE['class']:g} for class models)")
    o = parser.add_argument_group("output")
    o.add_argument("--out", default=None, help="run folder to create (default runs/<command>-<time>)")
    o.add_argument("--gif", action="store_true", help="also write a GIF and a frame strip of each process")
    o.add_argument("--frames-every", type=int, default=5, help="steps between frames of the strip (default 5)")
    o.add_argument("--quiet", action="store_true", help="no progress bars")
    validate.add_allow_long(o)
    parser.set_defaults(caller=None)  # not a flag: a library caller's `Caller` (the web UI sets one)


@dataclass
class Caller:
    """What a program running a command in-process (the web UI) plugs in; the CLI leaves it None.

    on_step(state): called after every step of every image (a live view; it may raise to cancel).
    load_model(name, device, **options): replaces `load_denoiser`, e.g. to keep models loaded.
    """

    on_step: Callable[[StepState], None] | None = None
    load_model: Callable[..., object] | None = None


def add_solver_flags(group) -> None:
    """--sampler and --eta, shared by every command that samples (eval too)."""
    group.add_argument("--sampler", choices=list(SOLVERS), default=None,
                       help="solver (default: ddpm on DDPM/IF models, euler on flow models; "
                            "heun and dpm++2m reach the same quality in fewer steps)")
    group.add_argument("--eta", type=float, default=None,
                       help="DDIM's noise level η in [0, 1] (default 0: deterministic); ddim only")


def solver_and_steps(args, model, fast: bool, course_steps: int = GRID_STEPS) -> tuple[Solver, int]:
    """The solver and grid steps the flags name, checked against the model's path.

    Unnamed, they are the model's fast default where `fast` and one was measured (`defaults.FAST_SAMPLING`),
    else the course's sampler on `course_steps` steps; naming --sampler alone keeps `course_steps`.
    """
    defaults = fast_sampling(model) if fast and args.sampler is None else None
    name = args.sampler or (defaults[0] if defaults else None)
    steps = args.steps if args.steps is not None else (defaults[1] if defaults else course_steps)
    return named_solver(name, args.eta, model.path), steps


def named_solver(name: str | None, eta: float | None, path) -> Solver:
    """The solver called `name` (None: the course's for the path) with DDIM's η, checked against the path."""
    try:
        if eta is not None and name != "ddim":
            raise ValueError("--eta is DDIM's noise level: give it with --sampler ddim")
        solver = make_solver(name, eta) if name else default_solver(path)
        solver.check(path)
    except ValueError as err:
        raise UserError(str(err)) from None
    return solver


def solver_argv(solver: Solver) -> list[str]:
    """The flags that name this solver again (--eta only where DDIM's η is not 0)."""
    eta = getattr(solver, "eta", 0.0)
    return ["--sampler", solver.name] + (["--eta", repr(float(eta))] if eta else [])


@dataclass
class Setup:
    """The validated, resolved settings every command starts from."""

    args: argparse.Namespace
    model: object
    grid: list
    solver: Solver
    steps: int
    guidance: float | None
    extra: dict = field(default_factory=dict)

    @property
    def value_range(self):
        return self.model.value_range

    def progress(self, label: str):
        if self.args.quiet:
            return None
        from tqdm import tqdm
        return lambda steps: tqdm(steps, desc=label, leave=False, file=sys.stderr)


def check_shared_flags(args) -> None:
    """The shared flags' own rules (`difflab.validate`), before any model is loaded."""
    validate.integer(args.num, "--num", 1)
    check_work(args, args.num)
    if args.steps is not None:  # None: the model's fast default or the course grid (`solver_and_steps`)
        validate.integer(args.steps, "--steps", 1)
        validate.work("--steps", args.steps, validate.MAX_STEPS, allow_long(args), "grid steps")
    validate.integer(args.frames_every, "--frames-every", 1)
    if args.guidance is not None:
        validate.number(args.guidance, "--guidance", 0)
    if getattr(args, "eta", None) is not None:
        validate.number(args.eta, "--eta", 0, 1)
    validate.device(args.device)
    validate.output_folder(args.out)


def allow_long(args) -> bool:
    return bool(getattr(args, "allow_long_runs", False))


def check_work(args, images: int, seeds: int | None = None) -> None:
    """At most `validate.MAX_IMAGES` images (unless --allow-long-runs); seeds seed … seed + seeds − 1 valid."""
    validate.work("--num", images, validate.MAX_IMAGES, allow_long(args), "images")
    validate.seeds(args.seed, images if seeds is None else seeds)


def setup(args, default_guidance: float | None = None, fast: bool = False) -> Setup:
    """Load the model and check the shared flags (nothing is written yet); `fast`: see `solver_and_steps`."""
    check_shared_flags(args)
    caller = getattr(args, "caller", None)
    load = caller.load_model if caller is not None and caller.load_model is not None else load_denoiser
    model = load(args.model, device=args.device, **deepfloyd_options(args))
    solver, steps = solver_and_steps(args, model, fast)
    grid = model.path.grid(steps)
    guidance = None
    if model.condition_kind != "none":
        guidance = args.guidance if args.guidance is not None else (
            default_guidance if default_guidance is not None else course_guidance(model.condition_kind))
    return Setup(args, model, grid, solver, steps, guidance)


def deepfloyd_options(args) -> dict:
    """The IF-only flags, passed on only when the model is IF (and only when given)."""
    if not is_deepfloyd(args.model):
        if args.prompt_embeds:
            raise UserError(f"--prompt-embeds is for DeepFloyd IF; {args.model} does not take text prompts")
        return {}
    options = {"memory": args.memory}
    if args.prompt_embeds:
        options["prompt_embeds"] = args.prompt_embeds
    return options


def default_prompt(model) -> str | None:
    """What "unprompted" means for this model (`defaults.unprompted`)."""
    return unprompted(model.condition_kind)


def normalise_prompt(model, prompt: str | None) -> str | None:
    """Empty → None (the null condition); a class given by name or index is checked now."""
    if prompt is None or str(prompt).strip() == "":
        return None
    if model.condition_kind != "text":  # any text is a prompt; a class must exist (encode raises UserError)
        model.encode([prompt])
    return prompt


def guided(s: Setup, prompts: Sequence[str | None]):
    """The model with CFG, or plain when nothing is conditioned (a null prompt gains nothing from CFG)."""
    if s.guidance is None or all(p is None for p in prompts) or s.guidance == 1:
        return s.model
    return GuidedDenoiser(s.model, s.guidance)


def prompt_argv(model, prompt: str | None, flag: str = "--prompt") -> list[str]:
    """The flag that gives this prompt back (an explicit "" when null differs from the default)."""
    if prompt is None:
        return [flag, ""] if default_prompt(model) is not None else []
    return [flag, str(prompt)]


def encode(model, prompt: str | None):
    """One condition row for one image."""
    return model.encode([prompt])


def parse_list(text: str, convert, what: str) -> list:
    """"1,3,5" → [1, 3, 5] with `convert` raising ValueError/UserError on bad items."""
    items = [part.strip() for part in str(text).split(",") if part.strip()]
    if not items:
        raise UserError(f"give at least one {what}")
    out = []
    for item in items:
        try:
            out.append(convert(item))
        except ValueError:
            raise UserError(f"bad {what}: {item!r}") from None
    return out


def start_run(s: Setup, command: str, config: dict) -> Path:
    """Create the run folder and its config.json (call only once every input is validated)."""
    run = new_run_dir(s.args.out, command.replace(" ", "-"))
    write_config(run, {"command": command, "model": s.args.model, "seed": s.args.seed, "num": s.args.num,
                       "steps": s.steps, "sampler": s.solver.name, "eta": getattr(s.solver, "eta", None),
                       "guidance": s.guidance, "value_range": list(s.value_range),
                       "grid": [float(t) for t in s.grid], **config})
    return run


def base_argv(s: Setup, command: Sequence[str], seed: int) -> list[str]:
    """The shared part of the command line that remakes one image."""
    argv = ["difflab", *command, "--model", s.args.model, "--seed", str(seed), "--num", "1",
            "--steps", str(s.steps), *solver_argv(s.solver)]
    if s.guidance is not None:
        argv += ["--guidance", repr(float(s.guidance))]
    if s.args.device:
        argv += ["--device", s.args.device]
    if s.args.prompt_embeds:
        argv += ["--prompt-embeds", s.args.prompt_embeds]
    return argv


def record(run: Path, s: Setup, image_name: str, argv: list[str], **fields) -> None:
    """One JSON line for one image, with what remakes it."""
    append_record(run, {"image": image_name, "model": s.args.model, "steps": s.steps, "sampler": s.solver.name,
                        "guidance": s.guidance, "argv": argv, "command": " ".join(_quote(a) for a in argv), **fields})


def _quote(arg: str) -> str:
    return json.dumps(arg) if not arg or any(ch in arg for ch in " \"'$`\\") else arg


def save(run: Path, name: str, images: torch.Tensor, s: Setup, nrow: int | None = None) -> str:
    """One image at the model's own size (the exact pixels other commands read back), or, with `nrow`,
    a figure of several (panel, strip, grid, views) zoomed so small models' pictures are seen."""
    zoom = 1 if nrow is None else display_zoom(s.model.image_shape[-1])
    save_image(images.detach().cpu(), run / name, s.value_range, nrow=nrow, zoom=zoom)
    return name


def recorder(s: Setup) -> FrameRecorder | None:
    """The loop's per-step hook: frames kept for --gif, and the caller's on_step, if any."""
    caller = getattr(s.args, "caller", None)
    on_step = caller.on_step if caller is not None else None
    if not s.args.gif and on_step is None:
        return None
    return FrameRecorder(keep=s.args.gif, on_step=on_step)


def save_process(run: Path, stem: str, frames: FrameRecorder | None, s: Setup) -> dict:
    """stem.gif (every step) and stem-frames.png (every --frames-every steps), if --gif."""
    if frames is None or not frames.steps:
        return {}
    save_gif(frames.frames(1), run / f"{stem}.gif", s.value_range)
    save_strip(frames.frames(s.args.frames_every), run / f"{stem}-frames.png", s.value_range)
    return {"gif": f"{stem}.gif", "frames": f"{stem}-frames.png"}

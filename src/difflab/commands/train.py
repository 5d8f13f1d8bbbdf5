"""`difflab train`: train a Part B model from a preset, with any hyperparameter overridden.

    difflab train flow-class                       # quick preset (minutes on a CPU)
    difflab train ddpm-class --preset course       # the published fall 2024 recipe
    difflab train course-denoise --epochs 1 --out runs/den
    difflab train --resume runs/den                # after a crash or kill -9
    difflab train --list                           # every preset and its hyperparameters
    difflab train emoji --out runs/emoji           # difflab's own text-to-image model (hours on one thread)
    difflab train --resume runs/emoji --steps 12000   # extend a (finished) emoji run to 12,000 steps

Every field of `TrainConfig` is a flag (``--batch-size 128``, ``--sample-epochs 1,5,10``,
``--no-ema-warmup``; the grid size `samples` is ``--num``, as the count of every command); flags
override the preset's values. Several GPUs or nodes: the same command under a launcher, e.g.
``accelerate launch --multi_gpu --num_processes 4 -m difflab train flow-class`` (docs/training.md).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from .. import validate
from ..errors import UserError
from ..training import TrainingInterrupted, resolve, resume, train
from ..training.config import CONFIG_FIELDS, RECIPES, TrainConfig, preset, preset_names
from ..training.emoji import EMOJI_PRESETS, emoji_preset, is_emoji_run, resume_emoji, train_emoji
from . import old_spelling

_RENAMED = {"samples": "--num"}  # field → flag where the field's own name is not the CLI's word
_SHOWN = ("kind", "conditioning", "hidden", "batch_size", "epochs", "lr", "lr_schedule", "sample_epochs",
          "sample_steps")


def register(sub) -> None:
    parser = sub.add_parser("train", help="train a Part B model (denoiser, DDPM, flow matching) from a preset",
                            description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="recipes: " + ", ".join(RECIPES) + "; presets: course (published "
                            "hyperparameters), quick (CPU-sized). See `difflab train --list`.")
    parser.add_argument("recipe", nargs="?", help="a recipe (flow-class, ddpm, denoise, …) or a full preset "
                        "name (course-flow-class, quick-ddpm, …)")
    parser.add_argument("--preset", default="quick", help="course | quick (default quick) for a bare recipe")
    parser.add_argument("--out", help="run folder to create (default runs/train-<preset>-<time>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run from its last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--list", action="store_true", help="list the presets and their hyperparameters")
    parser.add_argument("--steps", type=int, help="emoji presets: optimizer steps of the run "
                        "(with --resume: extend the run to this many)")
    validate.add_allow_long(parser)
    parser.add_argument("--stop-after-steps", type=int, help=argparse.SUPPRESS)  # test hook: stop as if killed
    options = parser.add_argument_group("hyperparameters (override the preset)")
    for f in CONFIG_FIELDS:
        own, help_text = "--" + f.name.replace("_", "-"), f.metadata.get("help")
        if f.type == "bool":
            options.add_argument(own, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
            continue
        flag = _RENAMED.get(f.name, own)
        action = options.add_argument(flag, dest=f.name, type=_PARSERS.get(f.type, str), default=None,
                                      choices=f.metadata.get("choices"), help=help_text,
                                      metavar=None if f.metadata.get("choices") else flag[2:].replace("-", "_").upper())
        if f.name in _RENAMED:
            old_spelling(parser, own, action)
    parser.set_defaults(func=run)


def _epochs(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epochs like 1,5,10, got {text!r}") from None


_PARSERS = {"int": int, "float": float, "str": str, "str | None": str, "tuple[int, ...]": _epochs}


def run(args) -> int:
    if args.list:
        return _list()
    overrides = {f.name: getattr(args, f.name) for f in CONFIG_FIELDS if getattr(args, f.name) is not None}
    try:
        if args.resume:
            if args.recipe or overrides or args.out:
                raise UserError("--resume continues a run with its own config.json; give no recipe, --out or "
                                "hyperparameter flags with it")
            if is_emoji_run(args.resume):
                result = resume_emoji(args.resume, quiet=args.quiet, stop_after_steps=args.stop_after_steps,
                                      steps=args.steps)
            elif args.steps is not None and Path(args.resume, "config.json").is_file():
                raise UserError("--steps with --resume extends an emoji run; Part B runs count --epochs")
            else:
                result = resume(args.resume, quiet=args.quiet, stop_after_steps=args.stop_after_steps)
        elif args.recipe in EMOJI_PRESETS:
            steps = {} if args.steps is None else {"steps": args.steps}
            config = emoji_preset(args.recipe, **overrides, **steps)
            result = train_emoji(config, args.out, quiet=args.quiet, stop_after_steps=args.stop_after_steps)
        else:
            if args.steps is not None:
                raise UserError("--steps applies to the emoji presets only; Part B recipes count --epochs")
            if not args.recipe:
                raise UserError(f"name a recipe ({', '.join(RECIPES)}) or a preset, or --resume RUN_DIR")
            validate.output_folder(args.out)
            config = resolve(args.recipe, args.preset, **overrides)
            check_work(config, getattr(args, "allow_long_runs", False))
            result = train(config, args.out, quiet=args.quiet, stop_after_steps=args.stop_after_steps)
    except TrainingInterrupted as stop:
        print(f"difflab: {stop}; continue with `difflab train --resume RUN_DIR`")
        return 3
    if not result.main:
        return 0  # the other processes of a multi-process run: the main one reports
    m = result.metrics
    print(f"trained {result.run_dir.name}: {m['steps']} steps, {m['images_seen']} images in {m['wall_time_s']:.0f} s "
          f"({m['train_img_per_s']:.0f} img/s while training); final train loss {m['final_train_loss']:.4f}")
    print(f"model: {result.model_file} ({m['weights']} weights); run folder: {result.run_dir}")
    return 0


def check_work(config, allow_long: bool) -> None:
    """The bounds on work (`difflab.validate`) for the grids a run draws and its length."""
    validate.work("--num", config.samples, validate.MAX_IMAGES, allow_long, "grid images")
    validate.work("--samples-per-class", config.samples_per_class, validate.MAX_IMAGES // 10, allow_long,
                  "images of every class")
    validate.work("--sample-steps", config.sample_steps, validate.MAX_STEPS, allow_long, "sampling steps")
    validate.work("--epochs", config.epochs, validate.MAX_EPOCHS, allow_long, "epochs")


def _list() -> int:
    rows = [["preset", *_SHOWN]]
    for name in preset_names():
        config = preset(name)
        rows.append([name] + [",".join(map(str, v)) if isinstance(v, tuple) else str(v)
                              for v in (getattr(config, k) for k in _SHOWN)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    print(f"\nevery preset: dataset {defaults['dataset']}, p_uncond {defaults['p_uncond']}, guidance "
          f"{defaults['guidance']}, EMA {defaults['ema_decay']} with warm-up, T {defaults['num_train_steps']}, "
          f"beta {defaults['beta_start']}..{defaults['beta_end']}, seed {defaults['seed']}")
    for name, c in EMOJI_PRESETS.items():
        print(f"{name}: the emoji text-to-image model (IF's path), widths {list(c.channels)}, batch {c.batch_size}, "
              f"{c.steps} steps, Adam {c.lr}, p_uncond {c.p_uncond}, EMA {c.ema_decay}, {c.threads} thread(s)")
    return 0

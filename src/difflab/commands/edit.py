"""`difflab edit sdedit|img2img|inpaint`: edit an image with the model (spec §2.9).

sdedit    noise the image to grid index i_start and denoise it back (unprompted: the course's
          default prompt for text models, no class for class models), for each --i-start.
img2img   the same with a prompt you choose (text-conditional image-to-image, §2.9.3).
inpaint   regenerate the region where the mask is 1 and keep the rest (RePaint, §2.9.2), with
          optional resampling (--jump J --resample R: each block of J steps is denoised R times).
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import load_mask, open_image, rectangle_mask, validate_mask
from ..defaults import SDEDIT_LEVELS
from ..editing import inpaint, sdedit
from .. import validate
from ..errors import UserError
from ..sampling import NoiseSource, check_i_start
from . import _common as common

LEVELS = ",".join(map(str, SDEDIT_LEVELS))


def register(sub) -> None:
    parser = sub.add_parser("edit", help="SDEdit, prompted image-to-image and inpainting of an image",
                            description=__doc__.split("\n\n", 1)[1])
    edits = parser.add_subparsers(dest="edit", metavar="EDIT", required=True, parser_class=type(parser))
    for name, helptext in (("sdedit", "noise and denoise an image at several levels (unprompted)"),
                           ("img2img", "SDEdit towards a prompt (text or class)")):
        p = edits.add_parser(name, help=helptext)
        _image_flag(p)
        p.add_argument("--i-start", default=LEVELS,
                       help=f"comma-separated grid indices; larger = closer to the image (default {LEVELS})")
        p.add_argument("--prompt", required=name == "img2img", default=None,
                       help="text or class" + (" (required)" if name == "img2img" else " (default: unprompted)"))
        common.add_model_flags(p)
        p.set_defaults(func=run_sdedit, edit_name=name)
    p = edits.add_parser("inpaint", help="regenerate a masked region (RePaint)")
    _image_flag(p)
    area = p.add_mutually_exclusive_group(required=True)
    area.add_argument("--mask", help="mask image: white (1) = regenerate, black (0) = keep; the image's size")
    area.add_argument("--rect", help="TOP,LEFT,HEIGHT,WIDTH of the region to regenerate, in model pixels")
    p.add_argument("--prompt", default=None, help="text or class (default: unprompted)")
    p.add_argument("--i-start", type=int, default=0, help="grid index to start from (default 0: pure noise)")
    p.add_argument("--jump", type=int, default=1, help="RePaint jump length in grid steps (default 1)")
    p.add_argument("--resample", type=int, default=1, help="RePaint repeats per block (default 1: none)")
    common.add_model_flags(p)
    p.set_defaults(func=run_inpaint, edit_name="inpaint")


def _image_flag(parser) -> None:
    parser.add_argument("--image", required=True,
                        help="an image file, builtin:NAME, sketch:NAME, or digit:CLASS[:K] (a test digit)")


def _prompt(s, args):
    given = args.prompt if args.prompt is not None else common.default_prompt(s.model)
    return common.normalise_prompt(s.model, given)


def run_sdedit(args) -> int:
    s = common.setup(args)
    given = validate.unique(common.parse_list(args.i_start, int, "i_start"), "--i-start")
    levels = [check_i_start(i, s.grid) for i in given]
    common.check_work(args, len(levels) * args.num, args.num)
    prompt, original = _prompt(s, args), common.load_input(args.image, s.model)
    if args.edit_name == "img2img" and prompt is None:
        raise UserError("img2img needs a non-empty --prompt (use `edit sdedit` for the unprompted edit)")
    run_dir = common.start_run(s, f"edit {args.edit_name}", {"image": args.image, "prompt": prompt, "i_start": levels})
    common.save(run_dir, "original.png", original, s)
    rows = []
    for k in range(args.num):
        seed, row = args.seed + k, [original]
        for i in levels:
            frames = common.recorder(s)
            edited = sdedit(common.guided(s, [prompt]), original, s.grid, NoiseSource([seed]),
                            common.encode(s.model, prompt), i_start=i, rule=s.rule, hook=frames,
                            progress=s.progress(f"i_start {i} seed {seed}"))
            stem = f"{args.edit_name}-i{i}-seed{seed}"
            argv = common.base_argv(s, ["edit", args.edit_name], seed) + ["--image", args.image, "--i-start", str(i)]
            common.record(run_dir, s, common.save(run_dir, f"{stem}.png", edited, s),
                          argv + common.prompt_argv(s.model, prompt), procedure=args.edit_name, seed=seed,
                          i_start=i, t=float(s.grid[i]), prompt=prompt, source=args.image,
                          **common.save_process(run_dir, stem, frames, s))
            row.append(edited)
        rows.append(torch.cat(row))
    common.save(run_dir, "strip.png", torch.cat(rows), s, nrow=len(levels) + 1)
    print(f"wrote strip.png (original, then i_start {', '.join(map(str, levels))}) to {run_dir}")
    return 0


def _mask(args, model) -> torch.Tensor:
    """The mask at the model's size; a mask file must be binary and as large as the image."""
    size = model.image_shape[1]
    if args.rect is not None:
        values = common.parse_list(args.rect, int, "--rect value")
        if len(values) != 4:
            raise UserError(f"--rect takes TOP,LEFT,HEIGHT,WIDTH, not {args.rect!r}")
        return rectangle_mask(size, *values)
    picture = open_image(args.mask)
    expected = common.input_size(args.image)
    if picture.size not in (expected, (size, size)):
        raise UserError(f"the mask is {picture.size[0]}x{picture.size[1]} but the image is "
                        f"{expected[0]}x{expected[1]}; draw the mask at the image's size")
    levels = np.unique(np.asarray(picture.convert("L")))
    if not set(levels.tolist()) <= {0, 255} and not set(levels.tolist()) <= {0, 1}:
        raise UserError(f"the mask {args.mask} is not binary: it has {len(levels)} grey levels; "
                        "use black (keep) and white (regenerate) only")
    if set(levels.tolist()) <= {0, 1}:
        picture = picture.convert("L").point(lambda v: 255 * v)
    mask = load_mask(picture, size)
    if mask.sum() == 0:
        raise UserError(f"the mask {args.mask} is all black: there is nothing to regenerate")
    return mask


def run_inpaint(args) -> int:
    validate.integer(args.jump, "--jump", 1)
    validate.integer(args.resample, "--resample", 1)
    s = common.setup(args)
    check_i_start(args.i_start, s.grid)
    prompt, original = _prompt(s, args), common.load_input(args.image, s.model)
    mask = validate_mask(_mask(args, s.model).to(original), original)
    run_dir = common.start_run(s, "edit inpaint", {"image": args.image, "prompt": prompt, "mask": args.mask,
                                                   "rect": args.rect, "i_start": args.i_start,
                                                   "jump": args.jump, "resample": args.resample})
    low, high = s.value_range
    row = [original, low + (high - low) * mask.expand_as(original), original * mask + low * (1 - mask)]
    for name, image in zip(("original", "mask", "hole"), row):
        common.save(run_dir, f"{name}.png", image, s)
    for k in range(args.num):
        seed, frames = args.seed + k, common.recorder(s)
        result = inpaint(common.guided(s, [prompt]), original, mask, s.grid, NoiseSource([seed]),
                         common.encode(s.model, prompt), i_start=args.i_start, jump=args.jump, repeats=args.resample,
                         rule=s.rule, hook=frames, progress=s.progress(f"seed {seed}"))
        area = ["--mask", args.mask] if args.mask else ["--rect", args.rect]
        argv = common.base_argv(s, ["edit", "inpaint"], seed) + ["--image", args.image, *area,
                                                                  "--i-start", str(args.i_start), "--jump",
                                                                  str(args.jump), "--resample", str(args.resample)]
        common.record(run_dir, s, common.save(run_dir, f"inpaint-seed{seed}.png", result, s),
                      argv + common.prompt_argv(s.model, prompt), procedure="inpaint", seed=seed, prompt=prompt,
                      source=args.image, mask=args.mask, rect=args.rect, i_start=args.i_start, jump=args.jump,
                      resample=args.resample, **common.save_process(run_dir, f"inpaint-seed{seed}", frames, s))
        row.append(result)
    common.save(run_dir, "panel.png", torch.cat(row), s, nrow=len(row))
    print(f"wrote panel.png (original, mask, hole, {args.num} result(s)) to {run_dir}")
    return 0

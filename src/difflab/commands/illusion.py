"""`difflab illusion anagram|hybrid`: optical illusions from one model (spec §2.10–2.11).

anagram  one image that shows prompt i through view i (--views identity,flip by default; the
         course's upside-down anagram). Every branch is classifier-free guided; predictions are
         averaged over views. Views: identity, flip, mirror, rot90, rot180, rot270, negate,
         jigsaw, patch_permute, pixel_permute, skew, inner_circle (some take :ARG).
hybrid   the first prompt in the low frequencies (seen from afar) and the second in the high
         frequencies (seen close up): blur kernel 33, σ = 2 at 64 px, scaled with the image size
         (--kernel, --blur-sigma); or --factor color: the first prompt in greyscale, the second in
         the colour residual.
"""

from __future__ import annotations

import torch

from .. import validate
from ..editing import sample
from ..errors import UserError
from ..filters import downsample
from ..illusions.anagrams import MultiViewDenoiser, view_clean
from ..illusions.hybrids import FACTORS, FactorizedDenoiser
from ..illusions.views import parse_views
from ..sampling import NoiseSource
from . import _common as common, old_spelling


def register(sub) -> None:
    parser = sub.add_parser("illusion", help="visual anagrams and hybrid images",
                            description=__doc__.split("\n\n", 1)[1])
    kinds = parser.add_subparsers(dest="illusion", metavar="ILLUSION", required=True, parser_class=type(parser))
    p = kinds.add_parser("anagram", help="an image that changes meaning under views (flip, rotations, …)")
    p.add_argument("--prompt", action="append", required=True, help="one per view, in the same order")
    p.add_argument("--views", default="identity,flip", help="comma-separated views (default identity,flip)")
    common.add_model_flags(p)
    p.set_defaults(func=run_anagram)
    p = kinds.add_parser("hybrid", help="one prompt from afar, another close up")
    p.add_argument("--prompt", action="append", required=True,
                   help="give it twice: first the far (low-pass / greyscale) prompt, then the near one")
    p.add_argument("--factor", choices=FACTORS, default="lowpass", help="how to split the image (default lowpass)")
    p.add_argument("--kernel", type=int, default=None, help="blur kernel size (default: the model's own, "
                   "else 33 at 64 px, scaled)")
    blur_sigma = p.add_argument("--blur-sigma", type=float, default=None, help="blur σ (default: the model's own — 2 "
                                   "on emoji — else 2 at 64 px, scaled)")
    old_spelling(p, "--sigma", blur_sigma)
    p.add_argument("--small", type=int, default=4, help="how many times smaller the far view is (default 4)")
    common.add_model_flags(p)
    p.set_defaults(func=run_hybrid)


def _prompts(s, given, count: int, what: str) -> list:
    if s.model.condition_kind == "none":
        raise UserError(f"{what} needs a text- or class-conditioned model; {s.args.model} is unconditional")
    if len(given) != count:
        raise UserError(f"{what} takes {count} prompts here, got {len(given)}")
    return [common.normalise_prompt(s.model, p) for p in given]


def _prompt_flags(model, prompts) -> list[str]:
    return [arg for p in prompts for arg in common.prompt_argv(model, p) or ["--prompt", ""]]


def run_anagram(args) -> int:
    s = common.setup(args)
    views = parse_views(args.views)
    prompts = _prompts(s, args.prompt, len(views), f"an anagram with {len(views)} views")
    model = s.model
    base = common.guided(s, prompts)
    denoiser = MultiViewDenoiser(base, views, [common.encode(model, p) for p in prompts])
    run_dir = common.start_run(s, "illusion anagram", {"prompts": prompts, "views": [v.name for v in views]})
    rows = []
    for k in range(args.num):
        seed, frames = args.seed + k, common.recorder(s)
        image = sample(denoiser, s.grid, NoiseSource([seed]), None, solver=s.solver, hook=frames,
                       progress=s.progress(f"seed {seed}"))
        seen = torch.cat([view_clean(v, image, model.value_range) for v in views])
        name = common.save(run_dir, f"anagram-seed{seed}.png", image, s)
        common.save(run_dir, f"anagram-seed{seed}-views.png", seen, s, nrow=len(views))
        argv = common.base_argv(s, ["illusion", "anagram"], seed) + ["--views", args.views]
        common.record(run_dir, s, name, argv + _prompt_flags(model, prompts), procedure="anagram", seed=seed,
                      prompts=prompts, views=[v.name for v in views], views_image=f"anagram-seed{seed}-views.png",
                      **common.save_process(run_dir, f"anagram-seed{seed}", frames, s))
        rows.append(seen)
    common.save(run_dir, "panel.png", torch.cat(rows), s, nrow=len(views))
    print(f"wrote panel.png (each row: the image through {', '.join(v.name for v in views)}) to {run_dir}")
    return 0


def run_hybrid(args) -> int:
    if args.kernel is not None:  # 0 is a value to refuse, never "the default"
        validate.integer(args.kernel, "--kernel", 1)
    if args.blur_sigma is not None:
        validate.number(args.blur_sigma, "--blur-sigma", 0, low_open=True)
    validate.integer(args.small, "--small", 1)
    s = common.setup(args)
    prompts = _prompts(s, args.prompt, 2, "a hybrid")
    model = s.model
    denoiser = FactorizedDenoiser(common.guided(s, prompts), common.encode(model, prompts[0]),
                                  common.encode(model, prompts[1]), args.factor, args.kernel, args.blur_sigma)
    run_dir = common.start_run(s, "illusion hybrid", {"prompts": prompts, **denoiser.settings, "small": args.small})
    full, small = [], []
    for k in range(args.num):
        seed, frames = args.seed + k, common.recorder(s)
        image = sample(denoiser, s.grid, NoiseSource([seed]), None, solver=s.solver, hook=frames,
                       progress=s.progress(f"seed {seed}"))
        name = common.save(run_dir, f"hybrid-seed{seed}.png", image, s)
        common.save(run_dir, f"hybrid-seed{seed}-small.png", downsample(image, args.small), s)
        argv = common.base_argv(s, ["illusion", "hybrid"], seed) + ["--factor", args.factor, "--small", str(args.small)]
        argv += [arg for flag, value in (("--kernel", args.kernel), ("--blur-sigma", args.blur_sigma))
                 if value is not None for arg in (flag, str(value))]
        common.record(run_dir, s, name, argv + _prompt_flags(model, prompts), procedure="hybrid", seed=seed,
                      prompts=prompts, small_image=f"hybrid-seed{seed}-small.png", **denoiser.settings,
                      **common.save_process(run_dir, f"hybrid-seed{seed}", frames, s))
        full.append(image)
        small.append(downsample(image, args.small))
    common.save(run_dir, "panel.png", torch.cat(full), s, nrow=len(full))
    common.save(run_dir, "panel-small.png", torch.cat(small), s, nrow=len(small))
    print(f"wrote hybrids at full size (panel.png) and {args.small}× smaller (panel-small.png) to {run_dir}")
    return 0

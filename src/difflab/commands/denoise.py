"""`difflab denoise`: noise an image to chosen times and compare four ways back (spec §2.3–2.6).

For every time t (``--t`` in the model's units, or ``--i-start`` grid indices) and seed: the
noisy image, its one-step estimate x̂0, strided iterative denoising from t down the grid, and the
Gaussian blur with the best PSNR (or ``--blur K,SIGMA``). ``panel.png`` has one row per (t, seed):
[original, noisy, iterative, one-step, blurred]. PSNRs against the original go in the records.
"""

from __future__ import annotations

import torch

from ..defaults import FORWARD_FRACTIONS, UNPROMPTED_TEXT
from ..editing import compare_denoisers
from .. import validate
from ..errors import UserError
from ..sampling import NoiseSource, check_i_start
from . import _common as common

COLUMNS = ("original", "noisy", "iterative", "one_step", "blur")


def register(sub) -> None:
    parser = sub.add_parser("denoise", help="forward noising, blur baseline, one-step and iterative denoising",
                            description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--image", required=True,
                        help="an image file, builtin:NAME, sketch:NAME, or digit:CLASS[:K] (a test digit)")
    parser.add_argument("--t", default=None,
                        help="comma-separated times in the model's units: integer timesteps on DDPM/IF "
                             "(larger = noisier), t in [0, 1) on flow models (0 = noise); "
                             "default: a quarter, half and three quarters of the way to noise")
    parser.add_argument("--i-start", default=None, help="comma-separated grid indices to noise to instead of --t")
    parser.add_argument("--prompt", default=None, help="text or class for the predictions "
                                                      f"(default \"{UNPROMPTED_TEXT}\" / none)")
    parser.add_argument("--blur", default=None, help="KERNEL,SIGMA of the Gaussian baseline (default: best PSNR)")
    common.add_model_flags(parser, guidance_help="CFG γ (default 1: the plain conditional prediction, as §2.5–2.6)")
    parser.set_defaults(func=run)


def _times(args, s) -> list:
    if args.t is not None and args.i_start is not None:
        raise UserError("give --t or --i-start, not both")
    if args.i_start is not None:
        levels = validate.unique(common.parse_list(args.i_start, int, "i_start"), "--i-start")
        return [s.grid[check_i_start(i, s.grid)] for i in levels]
    if args.t is not None:
        return validate.unique(common.parse_list(args.t, s.model.path.parse_time, "time"), "--t")
    return [s.model.path.time_at_noise(f) for f in FORWARD_FRACTIONS]


def _blur(text):
    if text is None:
        return None
    try:
        kernel, sigma = text.split(",")
        kernel, sigma = int(kernel), float(sigma)
    except ValueError:
        raise UserError(f"--blur takes KERNEL,SIGMA, e.g. 5,1.5, not {text!r}") from None
    if kernel < 1 or kernel % 2 == 0:
        raise UserError(f"--blur needs an odd kernel ≥ 1, not {text!r}")
    validate.number(sigma, "--blur's σ", 0, low_open=True)
    return kernel, sigma


def run(args) -> int:
    s = common.setup(args, default_guidance=1.0)
    model = s.model
    times, blur = _times(args, s), _blur(args.blur)
    common.check_work(args, len(times) * args.num, args.num)
    if blur and blur[0] // 2 >= min(model.image_shape[1:]):
        raise UserError(f"a {blur[0]}-pixel blur kernel is too large for {model.image_shape[1]}-pixel images")
    prompt = common.normalise_prompt(model, args.prompt if args.prompt is not None else common.default_prompt(model))
    original = common.load_input(args.image, model)
    run_dir = common.start_run(s, "denoise", {"image": args.image, "prompt": prompt, "times": times,
                                              "columns": list(COLUMNS), "blur": blur})
    common.save(run_dir, "original.png", original, s)
    rows = []
    for t in times:
        for k in range(args.num):
            seed, frames = args.seed + k, common.recorder(s)
            result = compare_denoisers(common.guided(s, [prompt]), original, t, s.grid, NoiseSource([seed]),
                                       common.encode(model, prompt), blur=blur, rule=s.rule, hook=frames,
                                       progress=s.progress(f"t={t} seed {seed}"))
            argv = common.base_argv(s, ["denoise"], seed) + ["--image", args.image, "--t", str(t)]
            argv += common.prompt_argv(model, prompt) + (["--blur", args.blur] if args.blur else [])
            stem = f"t{t}-seed{seed}"
            images = dict(zip(COLUMNS[1:], (result.noisy, result.iterative, result.one_step, result.blur.image)))
            for kind, image in images.items():
                name = common.save(run_dir, f"{stem}-{kind.replace('_', '-')}.png", image, s)
                common.record(run_dir, s, name, argv, procedure=f"denoise/{kind}", seed=seed, t=t, prompt=prompt,
                              psnr=round(result.psnr[kind], 3), blur_kernel=result.blur.kernel_size,
                              blur_sigma=result.blur.sigma, **common.save_process(
                                  run_dir, f"{stem}-iterative", frames if kind == "iterative" else None, s))
            rows.append(torch.cat([original, *images.values()]))
            print(f"t={t} seed {seed}: PSNR noisy {result.psnr['noisy']:.2f}  iterative {result.psnr['iterative']:.2f}"
                  f"  one-step {result.psnr['one_step']:.2f}  blur {result.psnr['blur']:.2f} dB "
                  f"(k={result.blur.kernel_size}, σ={result.blur.sigma:g})")
    common.save(run_dir, "panel.png", torch.cat(rows), s, nrow=len(COLUMNS))
    print(f"wrote panel.png ({len(rows)} row(s): {', '.join(COLUMNS)}) to {run_dir}")
    return 0

"""`difflab partb`: the single-step denoiser figures of Part B from a dataset or a trained model.

    difflab partb noising                        # 5 test digits × σ ∈ {0, 0.2, …, 1.0} (B1.2)
    difflab partb denoise runs/den               # [input, noisy, output] rows at σ = 0.5 (B1.2.1)
    difflab partb ood runs/den                   # noisy row over denoised row, every σ (B1.2.2)
    difflab partb mean runs/pure                 # pure-noise outputs beside the training mean (B1.2.3)

`difflab train denoise` and `difflab train pure-noise` draw these into their run folders already;
this command redraws them for any model file or run folder, with other digits or seeds.
"""

from __future__ import annotations

from .. import validate
from ..atomic import write_json
from ..data import DATASETS, load_dataset
from ..errors import UserError
from ..models.registry import load_course_model
from ..runs import new_run_dir, write_config
from ..training import partb
from . import old_spelling

FIGURES = ("noising", "denoise", "ood", "mean")


def register(sub) -> None:
    parser = sub.add_parser("partb", help="Part B single-step denoiser figures: noising grid, OOD sweep, pure noise",
                            description=__doc__.split("\n\n")[0])
    parser.add_argument("figure", help=" | ".join(FIGURES))
    parser.add_argument("model", nargs="?", help="a denoise or pure-noise model file or run folder "
                        "(all figures but noising)")
    parser.add_argument("--dataset", help="digits to use (default: the model's dataset, else mnist-5k)")
    parser.add_argument("--index", type=int, default=0, help="first test digit to show (default 0)")
    num = parser.add_argument("--num", type=int, default=None,
                              help="digits (noising 5, denoise 3) or samples (mean 10)")
    old_spelling(parser, "--count", num)
    parser.add_argument("--sigma", type=float, default=None, help="noise level of the denoise panel "
                        "(default: the model's training σ)")
    parser.add_argument("--seed", type=int, default=0, help="digit i uses noise seed SEED + i")
    parser.add_argument("--out", help="folder to create (default runs/partb-<figure>-<time>)")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.figure not in FIGURES:
        raise UserError(f"unknown figure {args.figure!r}; choose one of {', '.join(FIGURES)}")
    if args.num is not None:
        validate.integer(args.num, "--num", 1)
    if args.sigma is not None:
        validate.number(args.sigma, "--sigma", 0)
    validate.integer(args.index, "--index", 0)
    validate.seeds(args.seed, args.num or 10)
    validate.output_folder(args.out)
    net, spec = None, None
    if args.figure != "noising":
        if not args.model:
            raise UserError(f"`difflab partb {args.figure}` needs a trained denoise or pure-noise model")
        net, spec, _ = load_course_model(args.model, device="cpu")
        wanted = "pure-noise" if args.figure == "mean" else "denoise"
        if spec.objective != wanted:
            raise UserError(f"{args.model} is a {spec.objective} model; `partb {args.figure}` needs a {wanted} model")
    dataset = args.dataset or (spec.dataset if spec else "mnist-5k")
    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    split = "train" if args.figure == "mean" else "test"
    images = load_dataset(dataset, split).images
    count = args.num or {"noising": 5, "denoise": 3, "ood": 1, "mean": 10}[args.figure]
    if not 0 <= args.index <= len(images) - count:
        raise UserError(f"--index must be in 0..{len(images) - count} for {dataset} {split}")
    digits = images[args.index:args.index + count]

    out = new_run_dir(args.out, f"partb-{args.figure}")
    write_config(out, {"figure": args.figure, "model": args.model, "dataset": dataset, "index": args.index,
                       "count": count, "sigma": args.sigma, "seed": args.seed})
    path = out / f"{args.figure}.png"
    if args.figure == "noising":
        partb.save_noising_grid(digits, path, args.seed)
    elif args.figure == "denoise":
        sigma = spec.sigma if args.sigma is None else args.sigma
        partb.save_denoise_panel(net, digits, sigma, path, f"denoiser trained at σ = {spec.sigma}", args.seed)
    elif args.figure == "ood":
        partb.save_ood_sweep(net, digits[0], path, args.seed)
    else:
        result = partb.pure_noise_vs_mean(net, images, count, args.seed)
        partb.save_mean_comparison(result, path)
        summary = {"output_to_mean_rms": result.output_to_mean, "digit_to_mean_rms": result.digit_to_mean,
                   "output_spread_rms": result.output_spread}
        write_json(out / "metrics.json", summary)
        print(f"RMS(output − training mean) = {result.output_to_mean:.4f}; "
              f"RMS(digit − training mean) = {result.digit_to_mean:.4f} for scale")
    print(f"wrote {path}")
    return 0

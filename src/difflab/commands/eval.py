"""`difflab eval`: sample a course model and score it: classifier-FID and KID beside their floors, class accuracy.

    difflab eval mnist-flow                       # a shipped model
    difflab eval runs/my-flow --num 1000 --guidance 5 --steps 50

Samples `--num` images (class-conditioned models: 1/K of them of every class, guided with u + γ(c − u))
with the model's fast default solver and steps (`defaults.FAST_SAMPLING`, measured in
benchmarks/RESULTS.md; `--sampler ddpm --steps 300` or `--sampler euler --steps 100` is the course's
sampler at full length) on its path's grid (`GaussianPath.grid`, the grid of every other command) and scores
them with the dataset's evaluation classifier against the real images of the dataset
(`difflab.evaluation.evaluate_samples`). The summary line is printed and, with the samples' seeds,
written to the run folder.
"""

from __future__ import annotations

from dataclasses import asdict

from .. import validate
from ..atomic import write_json
from ..data import load_dataset
from ..defaults import GUIDANCE
from ..errors import UserError
from ..figures import save_grid
from ..models.emoji import EmojiDenoiser
from ..models.registry import load_denoiser
from ..runs import new_run_dir, write_config
from . import old_spelling
from ._common import add_solver_flags, solver_and_steps


def register(sub) -> None:
    parser = sub.add_parser("eval", help="score a DDPM or flow model: classifier-FID/KID with floors, class accuracy",
                            description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a shipped model name, a model file or a training run folder")
    num = parser.add_argument("--num", type=int, default=1000, help="samples to draw (default 1000)")
    old_spelling(parser, "--n", num)
    parser.add_argument("--guidance", type=float, default=GUIDANCE["class"],
                        help=f"CFG γ for class-conditioned models (default {GUIDANCE['class']:g})")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's fast default; with --sampler "
                                                  "alone, the model's own sample_steps, else DDPM 300, flow 50)")
    add_solver_flags(parser)
    parser.add_argument("--seed", type=int, default=0, help="sample i uses seed SEED + i; also seeds the metrics")
    parser.add_argument("--batch-size", type=int, default=250, help="images sampled at once")
    parser.add_argument("--classifier", help="classifier file (default: the shipped one for the model's dataset)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--out", help="run folder to create (default runs/eval-<time>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    validate.add_allow_long(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..evaluation import evaluate_samples, load_classifier
    from ..evaluation.sampled import default_classifier, sample_images

    check_flags(args)
    denoiser = load_denoiser(args.model, device=args.device)
    if isinstance(denoiser, EmojiDenoiser):
        return _run_emoji(args, denoiser)
    spec = getattr(denoiser, "spec", None)
    if spec is None:
        raise UserError(f"{args.model} is not a course model; difflab eval scores the MNIST-style Part B models")
    classifier_file = args.classifier or default_classifier(spec.dataset)
    classifier = load_classifier(classifier_file, device=denoiser.device)
    real = load_dataset(spec.dataset, "all")
    own_steps = spec.extra.get("sample_steps") or (spec.num_train_steps if spec.objective == "ddpm" else 50)
    solver, steps = solver_and_steps(args, denoiser, fast=True, course_steps=own_steps)
    denoiser.path.grid(steps)  # a bad --steps fails here, before the run folder exists
    out = new_run_dir(args.out, "eval")
    config = {"model": args.model, "n": args.num, "guidance": args.guidance, "steps": steps,
              "sampler": solver.name, "eta": args.eta, "seed": args.seed,
              "classifier": str(classifier_file), "real_images": f"{spec.dataset} all"}
    write_config(out, config)

    samples, labels = sample_images(denoiser, args.num, args.guidance, steps, args.seed, args.batch_size, args.quiet,
                                   solver)
    result = evaluate_samples(classifier, samples, labels, real.images, seed=args.seed)
    save_grid(samples[:100], out / "samples.png", 10, title=f"{args.model}: first 100 of {args.num} samples")
    write_json(out / "metrics.json", {**asdict(result), "summary": result.summary(), **config})
    print(result.summary())
    print(f"sampled with {solver.name} on {steps} steps ({solver.nfe(steps)} network evaluations per image)")
    print(f"wrote {out}")
    return 0


def _run_emoji(args, denoiser) -> int:
    """difflab's own text-to-image model: issue 16's measurements at γ = 7 (`evaluation.emoji_eval`).

    --num samples in all: --num/50 for each of the 50 named emoji (default 1000 → 20 each)."""
    from ..evaluation import load_classifier
    from ..evaluation.emoji_eval import evaluate_emoji
    from ..evaluation.sampled import default_classifier

    classifier = load_classifier(args.classifier or default_classifier("emoji"), device="cpu")
    out = new_run_dir(args.out, "eval")
    per_prompt = max(1, args.num // 50)
    write_config(out, {"model": args.model, "samples_per_prompt": per_prompt, "seed": args.seed})
    result = evaluate_emoji(denoiser, classifier, per_prompt=per_prompt, seed=args.seed)
    write_json(out / "metrics.json", result)
    print(f"prompt accuracy {100 * result['prompt_accuracy']:.1f}% ({per_prompt} per prompt, γ = 7); "
          f"classifier-FID {result['classifier_fid']:.2f} (floor {result['classifier_fid_floor']:.2f}); "
          f"anagrams {100 * result['anagram_both_views']['mean']:.1f}%; hybrids {100 * result['hybrid_both_views']:.1f}%")
    print(f"wrote {out}")
    return 0


def check_flags(args) -> None:
    """Every flag's rule (`difflab.validate`), before the model, the data or the folder."""
    for name in ("num", "batch_size", "steps"):
        if getattr(args, name) is not None:
            validate.integer(getattr(args, name), f"--{name.replace('_', '-')}", 1)
    allow = getattr(args, "allow_long_runs", False)
    validate.work("--num", args.num, validate.MAX_EVAL_SAMPLES, allow, "samples")
    if args.steps is not None:
        validate.work("--steps", args.steps, validate.MAX_STEPS, allow, "steps")
    validate.number(args.guidance, "--guidance", 0)
    validate.seeds(args.seed, args.num)
    validate.device(args.device)
    validate.output_folder(args.out)

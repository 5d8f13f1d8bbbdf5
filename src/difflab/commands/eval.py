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

import torch
from tqdm.auto import tqdm

from ..atomic import write_json
from ..data import load_dataset
from ..defaults import GUIDANCE
from ..errors import UserError
from ..figures import save_grid
from ..guidance import GuidedDenoiser
from ..models.registry import builtin_models, load_denoiser
from ..runs import new_run_dir, write_config
from ..sampling import NoiseSource, sample_loop
from ..solvers import Solver
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
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..evaluation import evaluate_samples, load_classifier

    for name in ("num", "batch_size", "steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.guidance < 0:
        raise UserError(f"--guidance must be ≥ 0, got {args.guidance}")
    denoiser = load_denoiser(args.model, device=args.device)
    spec = getattr(denoiser, "spec", None)
    if spec is None:
        raise UserError(f"{args.model} is not a course model; difflab eval scores the MNIST-style Part B models")
    classifier_file = args.classifier or _default_classifier(spec.dataset)
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

    samples, labels = sample(denoiser, args.num, args.guidance, steps, args.seed, args.batch_size, args.quiet, solver)
    result = evaluate_samples(classifier, samples, labels, real.images, seed=args.seed)
    save_grid(samples[:100], out / "samples.png", 10, title=f"{args.model}: first 100 of {args.num} samples")
    write_json(out / "metrics.json", {**asdict(result), "summary": result.summary(), **config})
    print(result.summary())
    print(f"sampled with {solver.name} on {steps} steps ({solver.nfe(steps)} network evaluations per image)")
    print(f"wrote {out}")
    return 0


def _default_classifier(dataset: str):
    name = "classifier-fashion-mnist" if dataset == "fashion-mnist" else "classifier-mnist"
    shipped = builtin_models()
    if name not in shipped:
        raise UserError(f"no shipped classifier {name}; pass --classifier FILE")
    return shipped[name]


@torch.no_grad()
def sample(denoiser, n: int, guidance: float, steps: int, seed: int, batch: int, quiet: bool,
           solver: Solver | None = None):
    """(images (n, C, H, W) in [0, 1], intended labels (n,) or None), sample i from seed `seed + i`.

    `solver` None is the course's sampler for the path."""
    timesteps = denoiser.path.grid(steps)
    classes = denoiser.condition_kind == "class"
    labels = torch.arange(n) % len(denoiser.class_names) if classes else None
    model = GuidedDenoiser(denoiser, guidance) if classes else denoiser
    images = []
    for start in tqdm(range(0, n, batch), desc="sampling", unit="batch", disable=quiet):
        noise = NoiseSource(range(seed + start, seed + min(start + batch, n)))
        cond = denoiser.encode(labels[start:start + batch].tolist()) if classes else None
        x = sample_loop(model, noise.randn(denoiser.image_shape), timesteps, cond, solver=solver, noise=noise)
        images.append(x.clamp(0, 1).cpu())
    return torch.cat(images), labels

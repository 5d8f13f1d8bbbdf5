"""`difflab eval`: sample a course model and score it: classifier-FID and KID beside their floors, class accuracy.

    difflab eval mnist-flow                       # a shipped model
    difflab eval runs/my-flow --n 1000 --guidance 5 --steps 50

Samples n images (class-conditioned models: n/K of every class, guided with u + γ(c − u)) with
the model's own sampler — ancestral DDPM over `--steps` strided steps of T, or Euler — and scores
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
from ..errors import UserError
from ..figures import save_grid
from ..guidance import GuidedDenoiser
from ..models.emoji import EmojiDenoiser
from ..models.registry import builtin_models, load_denoiser
from ..paths import DiscretePath, flow_timesteps, strided_timesteps
from ..runs import new_run_dir, write_config
from ..sampling import NoiseSource, sample_loop


def register(sub) -> None:
    parser = sub.add_parser("eval", help="score a DDPM or flow model: classifier-FID/KID with floors, class accuracy",
                            description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a shipped model name, a model file or a training run folder")
    parser.add_argument("--n", type=int, default=1000, help="samples to draw (default 1000; the emoji model: "
                        "n/50 per named emoji, at most 1000 → 20)")
    parser.add_argument("--guidance", type=float, default=5.0, help="CFG γ for class-conditioned models (default 5)")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's own, else DDPM 300, flow 50)")
    parser.add_argument("--seed", type=int, default=0, help="sample i uses seed SEED + i; also seeds the metrics")
    parser.add_argument("--batch-size", type=int, default=250, help="images sampled at once")
    parser.add_argument("--classifier", help="classifier file (default: the shipped one for the model's dataset)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--out", help="run folder to create (default runs/eval-<time>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..evaluation import evaluate_samples, load_classifier

    for name in ("n", "batch_size", "steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.guidance < 0:
        raise UserError(f"--guidance must be ≥ 0, got {args.guidance}")
    denoiser = load_denoiser(args.model, device=args.device)
    if isinstance(denoiser, EmojiDenoiser):
        return _run_emoji(args, denoiser)
    spec = getattr(denoiser, "spec", None)
    if spec is None:
        raise UserError(f"{args.model} is not a course model; difflab eval scores the MNIST-style Part B models")
    classifier_file = args.classifier or _default_classifier(spec.dataset)
    classifier = load_classifier(classifier_file, device=denoiser.device)
    real = load_dataset(spec.dataset, "all")
    steps = args.steps or spec.extra.get("sample_steps") or (spec.num_train_steps if spec.objective == "ddpm" else 50)
    out = new_run_dir(args.out, "eval")
    config = {"model": args.model, "n": args.n, "guidance": args.guidance, "steps": steps, "seed": args.seed,
              "classifier": str(classifier_file), "real_images": f"{spec.dataset} all"}
    write_config(out, config)

    samples, labels = sample(denoiser, args.n, args.guidance, steps, args.seed, args.batch_size, args.quiet)
    result = evaluate_samples(classifier, samples, labels, real.images, seed=args.seed)
    save_grid(samples[:100], out / "samples.png", 10, title=f"{args.model}: first 100 of {args.n} samples")
    write_json(out / "metrics.json", {**asdict(result), "summary": result.summary(), **config})
    print(result.summary())
    print(f"wrote {out}")
    return 0


def _run_emoji(args, denoiser) -> int:
    """difflab's own text-to-image model: issue 16's measurements at γ = 7 (`evaluation.emoji_eval`)."""
    from ..evaluation import load_classifier
    from ..evaluation.emoji_eval import evaluate_emoji

    classifier = load_classifier(args.classifier or _default_classifier("emoji"), device="cpu")
    out = new_run_dir(args.out, "eval")
    per_prompt = max(1, args.n // 50)
    write_config(out, {"model": args.model, "samples_per_prompt": per_prompt, "seed": args.seed})
    result = evaluate_emoji(denoiser, classifier, per_prompt=per_prompt, seed=args.seed)
    write_json(out / "metrics.json", result)
    print(f"prompt accuracy {100 * result['prompt_accuracy']:.1f}% ({per_prompt} per prompt, γ = 7); "
          f"classifier-FID {result['classifier_fid']:.2f} (floor {result['classifier_fid_floor']:.2f}); "
          f"anagrams {100 * result['anagram_both_views']['mean']:.1f}%; hybrids {100 * result['hybrid_both_views']:.1f}%")
    print(f"wrote {out}")
    return 0


def _default_classifier(dataset: str):
    name = {"fashion-mnist": "classifier-fashion-mnist", "emoji": "classifier-emoji"}.get(dataset, "classifier-mnist")
    shipped = builtin_models()
    if name not in shipped:
        raise UserError(f"no shipped classifier {name}; pass --classifier FILE")
    return shipped[name]


@torch.no_grad()
def sample(denoiser, n: int, guidance: float, steps: int, seed: int, batch: int, quiet: bool):
    """(images (n, C, H, W) in [0, 1], intended labels (n,) or None), sample i from seed `seed + i`."""
    if isinstance(denoiser.path, DiscretePath):
        if denoiser.path.num_train_steps % steps:
            raise UserError(f"--steps must divide T = {denoiser.path.num_train_steps}, got {steps}")
        timesteps = strided_timesteps(denoiser.path.num_train_steps, denoiser.path.num_train_steps // steps)
    else:
        timesteps = flow_timesteps(steps)
    classes = denoiser.condition_kind == "class"
    labels = torch.arange(n) % len(denoiser.class_names) if classes else None
    model = GuidedDenoiser(denoiser, guidance) if classes else denoiser
    images = []
    for start in tqdm(range(0, n, batch), desc="sampling", unit="batch", disable=quiet):
        noise = NoiseSource(range(seed + start, seed + min(start + batch, n)))
        cond = denoiser.encode(labels[start:start + batch].tolist()) if classes else None
        x = sample_loop(model, noise.randn(denoiser.image_shape), timesteps, cond, noise=noise)
        images.append(x.clamp(0, 1).cpu())
    return torch.cat(images), labels

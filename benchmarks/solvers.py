"""Few-step sampling measured: classifier-FID, class accuracy and wall time against NFE, per solver and model.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/solvers.py [--n 500] [--gammas 5,2]
        [--models mnist-flow,mnist-ddpm] [--cache FILE] [--plot FILE] [--only-reference]

For every shipped generator, every solver that runs on its path and every step count of the sweep,
it samples N class-conditioned images (sample i: seed i, class i mod 10, CFG with γ), scores them
with `difflab.evaluation.evaluate_samples` (classifier-FID beside the real-vs-real floor at the same
N, class accuracy) and times the sampling. The reference is the course's sampler at full length:
300 strided DDPM steps (every step of T = 300) on mnist-ddpm, 100 Euler steps on mnist-flow.

NFE counts network evaluations per image before CFG doubling (Heun: 2·steps − 1, since its last
step is an Euler step). Every cell is cached in a JSON file keyed by its settings, so an interrupted
run resumes, and the tables can be printed again without sampling (a cell is recomputed only when
its key is new). Wall times are those of the machine at the time (say its load beside them).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from difflab.data import load_dataset
from difflab.evaluation import evaluate_samples, load_classifier
from difflab.guidance import GuidedDenoiser
from difflab.models.registry import builtin_models, load_denoiser
from difflab.sampling import NoiseSource, sample_loop
from difflab.solvers import make_solver

REFERENCE = {"mnist-ddpm": ("ddpm", 300), "mnist-flow": ("euler", 100)}
NFE_SWEEP = (4, 6, 8, 10, 15, 20)
# DDIM is left out on flow paths, where it is the Euler step exactly; on DDPM paths Euler in σ/α is DDIM.
SWEEP = {"flow": {"euler": NFE_SWEEP, "heun": NFE_SWEEP, "dpm++2m": NFE_SWEEP},
         "discrete": {"ddpm": (10, 20), "ddim": NFE_SWEEP, "heun": NFE_SWEEP, "dpm++2m": NFE_SWEEP}}


def steps_for_nfe(solver_name: str, nfe: int) -> int:
    """Grid steps whose NFE is the largest not above `nfe` (Heun: 2·steps − 1)."""
    return max(1, (nfe + 1) // 2) if solver_name == "heun" else nfe


@torch.no_grad()
def sample_cell(model, solver, steps: int, gamma: float, n: int, batch: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(images in [0, 1], labels, seconds) for n guided samples on the model's `steps`-step grid."""
    grid = model.path.grid(steps)
    labels = torch.arange(n) % 10
    guided = GuidedDenoiser(model, gamma)
    images, tick = [], time.perf_counter()
    for start in range(0, n, batch):
        noise = NoiseSource(range(start, min(start + batch, n)))
        cond = model.encode(labels[start:start + batch].tolist())
        x = sample_loop(guided, noise.randn(model.image_shape), grid, cond, solver=solver, noise=noise)
        images.append(x.clamp(0, 1))
    return torch.cat(images), labels, time.perf_counter() - tick


def cell_key(name: str, solver_name: str, steps: int, gamma: float, n: int) -> str:
    return f"{name}|{solver_name}|{steps}|{gamma:g}|{n}"


def run_cell(cache: dict, cache_file: Path, context: dict, name: str, solver_name: str, steps: int,
             gamma: float, n: int, batch: int) -> dict:
    key = cell_key(name, solver_name, steps, gamma, n)
    if key in cache:
        return cache[key]
    model, classifier, real = context[name]
    solver = make_solver(solver_name)
    images, labels, seconds = sample_cell(model, solver, steps, gamma, n, batch)
    result = evaluate_samples(classifier, images, labels, real, seed=0)
    cell = {"model": name, "solver": solver_name, "steps": steps, "nfe": solver.nfe(steps), "gamma": gamma,
            "n": result.n, "fid": result.fid, "fid_floor": result.fid_floor, "accuracy": result.class_accuracy,
            "seconds": seconds, "load": os.getloadavg()[0]}
    cache[key] = cell
    tmp = cache_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=1))
    tmp.replace(cache_file)
    print(f"  {key}: FID {cell['fid']:.3g} (floor {cell['fid_floor']:.3g}), acc {100 * cell['accuracy']:.1f}%, "
          f"{seconds:.0f} s (load {cell['load']:.1f})", flush=True)
    return cell


def plan(models: list[str], kinds: dict, gammas: list[float]) -> list[tuple[str, str, int, float]]:
    """(model, solver, steps, γ) in the order they run: the first γ's references and sweeps, then the
    other γ's sweeps, then their (costly) references."""
    cells, late = [], []
    for gamma in gammas:
        for name in models:
            (cells if gamma == gammas[0] else late).append((name, *REFERENCE[name], gamma))
            for solver_name, nfes in SWEEP[kinds[name]].items():
                cells += [(name, solver_name, steps_for_nfe(solver_name, nfe), gamma) for nfe in nfes]
    return cells + late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--gammas", default="5,2")
    parser.add_argument("--models", default="mnist-flow,mnist-ddpm")
    parser.add_argument("--batch", type=int, default=125)
    parser.add_argument("--cache", default="benchmarks/results/solvers-cells.json")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    cache_file = Path(args.cache)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    gammas = [float(g) for g in args.gammas.split(",")]
    context = {}
    for name in args.models.split(","):
        model = load_denoiser(name, device="cpu")
        model.net.to(memory_format=torch.channels_last)  # same maths, ~1.5× faster convolutions on this CPU
        classifier = load_classifier(builtin_models()["classifier-mnist"])
        context[name] = (model, classifier, load_dataset(model.spec.dataset, "all").images)
    tick = time.perf_counter()
    for name, solver_name, steps, gamma in plan(list(context), {n: c[0].path.kind for n, c in context.items()}, gammas):
        run_cell(cache, cache_file, context, name, solver_name, steps, gamma, args.n, args.batch)
    print(f"total {time.perf_counter() - tick:.0f} s")


if __name__ == "__main__":
    main()

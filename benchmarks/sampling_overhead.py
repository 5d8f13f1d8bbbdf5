"""Sampling overhead: `sample_loop` against a bare loop calling the same network the same number of times.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/sampling_overhead.py [--model mnist-flow]
        [--batches 1,16,125] [--steps 20] [--repeats 5]

The bare loop calls the model's `CourseUNet` directly with precomputed time and class tensors and
applies the Euler update x ← x + dt·v in place of a solver: nothing but the network and one axpy
per step. `sample_loop` runs the shipped model behind the Denoiser protocol with a solver (Euler,
DPM-Solver++ 2M), so the difference is everything difflab adds per step: the protocol call, time
batches, conversions to x̂0, the solver's float64 coefficients and its state. Both run unguided
on class-conditional inputs, alternately, `repeats` times, and each run is timed by the process's
CPU time (one thread, so this is the work done, which other processes on a shared CPU disturb far
less than wall time); the smallest of each is kept. The load average is printed beside the figures.
It asserts nothing (the target is sample_loop ≥ 90 % of the bare loop's speed).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from difflab.models.registry import load_denoiser
from difflab.sampling import NoiseSource, sample_loop
from difflab.solvers import make_solver


@torch.no_grad()
def bare_loop(model, x: torch.Tensor, cond: torch.Tensor, grid: list[float]) -> torch.Tensor:
    """Euler steps calling the network directly (flow models: the network predicts the velocity)."""
    times = [torch.full((x.shape[0],), float(t)) for t in grid]
    for i in range(len(grid) - 1):
        x = x + (grid[i + 1] - grid[i]) * model.net(x, times[i], cond)
    return x


def timed(fn) -> float:
    tick = time.process_time()
    fn()
    return time.process_time() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mnist-flow")
    parser.add_argument("--batches", default="1,16,125")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    model = load_denoiser(args.model, device="cpu")
    if model.prediction_type != "velocity":
        raise SystemExit("the bare loop is written for a flow model (velocity prediction)")
    grid = model.path.grid(args.steps)
    print(f"{args.model}, {args.steps} steps, {torch.get_num_threads()} thread(s), "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print("| batch | bare loop (CPU s) | solver | sample_loop (CPU s) | sample_loop speed / bare |")
    print("|---|---|---|---|---|")
    for batch in [int(b) for b in args.batches.split(",")]:
        noise = NoiseSource(range(batch))
        x, cond = noise.randn(model.image_shape), model.encode([k % 10 for k in range(batch)])
        for name in ("euler", "dpm++2m"):
            solver = make_solver(name)
            bare_loop(model, x, cond, grid), sample_loop(model, x, grid, cond, solver=solver)  # warm-up
            bare, loop = [], []
            for _ in range(args.repeats):
                bare.append(timed(lambda: bare_loop(model, x, cond, grid)))
                loop.append(timed(lambda: sample_loop(model, x, grid, cond, solver=solver)))
            print(f"| {batch} | {min(bare):.4f} | {name} | {min(loop):.4f} | {100 * min(bare) / min(loop):.1f} % |",
                  flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

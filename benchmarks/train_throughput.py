"""Training throughput of `difflab train` against a bare forward + backward + Adam step loop.

    PYTHONPATH=src python benchmarks/train_throughput.py [--recipe flow-class] [--hidden 64]
        [--batch-size 64] [--steps 40] [--threads 2]

Both loops train the same CourseUNet on the same batch size and thread count. The bare loop
draws its inputs once and does nothing but forward, MSE, backward and step. The real loop is
`difflab.training.train` for two epochs of `steps` batches each (no sample grids, no test loss);
its speed is that of the second epoch's batch loop, with everything a step costs there included
(data indexing, per-step generators, noise, class dropout, EMA, stats line, progress bar).
FLOPs are counted on one forward with torch.utils.flop_counter and trebled for fwd + bwd.
It prints figures; it asserts nothing (the target is real loop ≥ 90% of the bare loop).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from difflab.models.unet import CourseUNet
from difflab.training import resolve, train


def forward_flops(net: CourseUNet, batch: int, conditioned: bool, classes: bool) -> int:
    x, t, c = torch.rand(batch, 1, 28, 28), torch.rand(batch), torch.zeros(batch, 10)
    with FlopCounterMode(display=False) as counter:
        net(x, *([t] if conditioned else []), *([c] if classes else []))
    return counter.get_total_flops()


def bare_loop(net: CourseUNet, batch: int, steps: int, conditioned: bool, classes: bool, warmup: int = 5) -> float:
    """img/s of forward + MSE + backward + Adam step, nothing else."""
    g = torch.Generator().manual_seed(0)
    x, target = torch.rand(batch, 1, 28, 28, generator=g), torch.rand(batch, 1, 28, 28, generator=g)
    extra = ([torch.rand(batch, generator=g)] if conditioned else []) + ([torch.eye(10)[torch.arange(batch) % 10]]
                                                                         if classes else [])
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for i in range(warmup + steps):
        if i == warmup:
            tick = time.perf_counter()
        loss = F.mse_loss(net(x, *extra), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return batch * steps / (time.perf_counter() - tick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="flow-class")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="timed steps of each loop")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = resolve(args.recipe, "course", hidden=args.hidden, batch_size=args.batch_size, epochs=2,
                     train_images=args.steps * args.batch_size, sample_epochs=(), samples=0,
                     samples_per_class=0, test_images=0, threads=args.threads)
    conditioned, classes = config.conditioning != "none", config.class_conditioned
    net = CourseUNet(hidden=config.hidden, conditioning=config.conditioning, time_mode=config.time_mode)
    flops = 3 * forward_flops(net, args.batch_size, conditioned, classes) / args.batch_size  # per image

    before = bare_loop(net, args.batch_size, args.steps, conditioned, classes)
    with tempfile.TemporaryDirectory() as folder:
        result = train(config, Path(folder) / "run", quiet=False)
        epochs = [json.loads(line) for line in (result.run_dir / "epochs.jsonl").read_text().splitlines()]
    real = epochs[-1]["loop_img_per_s"]
    after = bare_loop(net, args.batch_size, args.steps, conditioned, classes)
    bare = (before + after) / 2  # the bare loop runs before and after, to even out a shared CPU

    print(f"\n{config.preset} D = {config.hidden}, batch {args.batch_size}, {args.threads} threads, "
          f"torch {torch.__version__}; {flops / 1e6:.1f} MFLOP per image (fwd + bwd = 3 × fwd)")
    print(f"bare fwd+bwd+step loop : {bare:8.1f} img/s  {bare * flops / 1e9:6.2f} GFLOP/s  "
          f"(before {before:.1f}, after {after:.1f})")
    print(f"difflab training loop  : {real:8.1f} img/s  {real * flops / 1e9:6.2f} GFLOP/s")
    print(f"ratio                  : {real / bare:8.1%}  (target ≥ 90%)")


if __name__ == "__main__":
    main()

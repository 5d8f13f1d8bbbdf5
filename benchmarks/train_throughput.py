"""Training throughput of `difflab train` beside a bare forward + backward + Adam step loop, per model and width.

    PYTHONPATH=src python benchmarks/train_throughput.py [--recipes flow-class,ddpm-class] [--hidden 32,64]
        [--batch-size 64] [--steps 40] [--threads 2] [--device auto] [--precision fp32|mixed|bf16|fp16]
        [--channels-last] [--compile] [--data-path] [--course-list]

On whatever device it finds (a CUDA GPU when one is visible, else the CPU), for every recipe and
width D: both loops train the same CourseUNet with the same batch size, precision, layout and
compilation. The bare loop draws its inputs once and does nothing but forward, MSE, backward and
step. The real loop is `difflab.training.train` for two epochs of `steps` batches each (no grids,
no test loss); its speed is that of the second epoch's batch loop (the first one warms up and
compiles), with everything a step costs included (shuffling, per-step generators, noise, class
dropout, EMA, stats line, progress bar). FLOPs are counted on one forward with
torch.utils.flop_counter and trebled for fwd + bwd; "effective TFLOP/s" is that count × img/s.

--data-path times the batch fetch alone: the dataset resident as one tensor indexed by an on-device
permutation (what the loop does) against a per-sample DataLoader. --course-list times the whole
course Part B recipe list end to end (grids included), the H100 target being < 60 s in all.
It prints figures; it asserts nothing (targets: real loop ≥ 90 % of the bare loop; ≥ 60k img/s at
D = 64 on an H100).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from difflab.data import load_dataset
from difflab.models.unet import CourseUNet
from difflab.training import RECIPES, resolve, train
from difflab.training.parallel import Precision


def inputs(net: CourseUNet, batch: int, device, generator=None) -> list[torch.Tensor]:
    """A batch of images and the conditioning the net takes, on `device`."""
    x = torch.rand(batch, 1, 28, 28, generator=generator).to(device)
    extra = [torch.rand(batch, generator=generator).to(device)] if net.conditioning != "none" else []
    if net.conditioning == "time+class":
        extra.append(torch.eye(10)[torch.arange(batch) % 10].to(device))
    return [x, *extra]


def forward_flops(net: CourseUNet, batch: int) -> int:
    with FlopCounterMode(display=False) as counter:
        net(*inputs(net, batch, next(net.parameters()).device))
    return counter.get_total_flops()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(net, batch: int, steps: int, device, precision: Precision, channels_last: bool, warmup: int = 5) -> float:
    """img/s of forward + MSE + backward + Adam step, nothing else."""
    g = torch.Generator().manual_seed(0)
    x, *extra = inputs(net, batch, device, g)
    target = torch.rand(x.shape, generator=g).to(device)
    if channels_last:
        x, target = (t.contiguous(memory_format=torch.channels_last) for t in (x, target))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for i in range(warmup + steps):
        if i == warmup:
            synchronize(device)
            tick = time.perf_counter()
        with precision.autocast():
            loss = F.mse_loss(net(x, *extra), target)
        optimizer.zero_grad(set_to_none=True)
        precision.backward_and_step(loss, optimizer)
    synchronize(device)
    return batch * steps / (time.perf_counter() - tick)


def measure(recipe: str, hidden: int, args, device: torch.device) -> dict:
    config = resolve(recipe, "course", hidden=hidden, batch_size=args.batch_size, epochs=2,
                     train_images=args.steps * args.batch_size, sample_epochs=(), samples=0, samples_per_class=0,
                     test_images=0, threads=args.threads, device=str(device), precision=args.precision,
                     channels_last=args.channels_last, compile=args.compile)
    net = CourseUNet(hidden=hidden, conditioning=config.conditioning, time_mode=config.time_mode).to(device)
    flops = 3 * forward_flops(net, args.batch_size) / args.batch_size  # per image
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    trained = torch.compile(net) if args.compile else net
    precision = Precision(args.precision, device)
    before = bare_loop(trained, args.batch_size, args.steps, device, precision, args.channels_last)
    with tempfile.TemporaryDirectory() as folder:
        result = train(config, Path(folder) / "run", quiet=True)
        epochs = [json.loads(line) for line in (result.run_dir / "epochs.jsonl").read_text().splitlines()]
    after = bare_loop(trained, args.batch_size, args.steps, device, precision, args.channels_last)
    bare = (before + after) / 2  # the bare loop runs before and after, to even out a shared machine
    real = epochs[-1]["loop_img_per_s"]
    return dict(recipe=recipe, hidden=hidden, mflop=flops / 1e6, bare=bare, before=before, after=after, real=real,
                bare_tflops=bare * flops / 1e12, real_tflops=real * flops / 1e12, precision=precision.name)


def data_path(batch: int, device: torch.device, epochs: int = 3) -> tuple[float, float]:
    """µs per batch of mnist-5k: resident tensor + on-device permutation, and a per-sample DataLoader."""
    train_set = load_dataset("mnist-5k", "train")
    images, labels = train_set.images.to(device), train_set.labels.to(device)
    g = torch.Generator(device).manual_seed(0)
    synchronize(device)
    tick, batches = time.perf_counter(), 0
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=g, device=device)
        for i in range(0, len(images), batch):
            x, y = images[order[i:i + batch]], labels[order[i:i + batch]]
            batches += 1
    synchronize(device)
    resident = (time.perf_counter() - tick) / batches * 1e6
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_set.images, train_set.labels),
                                         batch_size=batch, shuffle=True, pin_memory=device.type == "cuda")
    tick, batches = time.perf_counter(), 0
    for _ in range(epochs):
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            batches += 1
    synchronize(device)
    return resident, (time.perf_counter() - tick) / batches * 1e6


def course_list(args, device: torch.device) -> None:
    """Every course Part B recipe end to end, grids included; the wall time of each and in all."""
    total = 0.0
    for recipe in RECIPES:
        config = resolve(recipe, "course", device=str(device), precision=args.precision, threads=args.threads,
                         channels_last=args.channels_last, compile=args.compile, dataset=args.dataset)
        with tempfile.TemporaryDirectory() as folder:
            tick = time.perf_counter()
            train(config, Path(folder) / "run", quiet=True)
            seconds = time.perf_counter() - tick
        total += seconds
        print(f"course-{recipe:16s} {seconds:8.1f} s")
    print(f"course Part B recipe list: {total:.1f} s in all (H100 target < 60 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", default="flow-class", help="comma-separated recipes")
    parser.add_argument("--hidden", default="64", help="comma-separated widths D")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="timed steps of each loop")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "mixed", "bf16", "fp16"))
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--data-path", action="store_true", help="also time the batch fetch alone")
    parser.add_argument("--course-list", action="store_true", help="time the course recipe list instead")
    parser.add_argument("--dataset", default="mnist-5k", help="--course-list: mnist-5k | mnist")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"device: {name}; torch {torch.__version__}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}; "
          f"load {os.getloadavg()[0]:.2f}; precision {args.precision}, channels_last {args.channels_last}, "
          f"compile {args.compile}, batch {args.batch_size}")
    if args.course_list:
        return course_list(args, device)
    if args.data_path:
        resident, loader = data_path(args.batch_size, device)
        print(f"batch fetch: resident tensor {resident:.1f} µs/batch, per-sample DataLoader {loader:.1f} µs/batch")
    print(f"{'model':18s} {'D':>3s} {'MFLOP/img':>9s} | {'bare img/s':>10s} {'TFLOP/s':>8s} | "
          f"{'difflab img/s':>13s} {'TFLOP/s':>8s} | ratio")
    for recipe in args.recipes.split(","):
        for hidden in (int(h) for h in args.hidden.split(",")):
            r = measure(recipe, hidden, args, device)
            print(f"{recipe:18s} {hidden:3d} {r['mflop']:9.1f} | {r['bare']:10.1f} {r['bare_tflops']:8.4f} | "
                  f"{r['real']:13.1f} {r['real_tflops']:8.4f} | {r['real'] / r['bare']:5.1%}  "
                  f"(bare before {r['before']:.1f}, after {r['after']:.1f}; {r['precision']})", flush=True)


if __name__ == "__main__":
    main()

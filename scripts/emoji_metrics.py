"""The emoji model's measurements (issue 16 §6): train its classifier, score a model, time the commands.

    python scripts/emoji_metrics.py classifier --out src/difflab/weights     # classifier-emoji.safetensors
    python scripts/emoji_metrics.py quality emoji --out /tmp/emoji-metrics.json
    python scripts/emoji_metrics.py speed emoji --out /tmp/emoji-speed.json
    python scripts/emoji_metrics.py prompts RUN_DIR --first 32     # a quick-emoji run's own 32 prompts
    python scripts/emoji_metrics.py ship RUN_DIR     # latest checkpoint → weights/emoji.safetensors + metrics

`quality` is `difflab.evaluation.emoji_eval.evaluate_emoji` (prompt accuracy, classifier-FID with
its floor, anagram and hybrid rates); `speed` runs each Part A command of the CLI on the model once
and records its wall time (model loading and MiniLM included, as a user sees it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from difflab.atomic import write_json  # noqa: E402
from difflab.checkpoints import load_model_file, save_model_file  # noqa: E402
from difflab.emoji_data import load_emoji  # noqa: E402
from difflab.evaluation import load_classifier, save_classifier  # noqa: E402
from difflab.evaluation.emoji_eval import (ILLUSION_SEEDS, evaluate_emoji, prompt_accuracy,  # noqa: E402
                                           train_emoji_classifier)
from difflab.models.registry import builtin_models, load_denoiser, weights_dir  # noqa: E402
from difflab.training.emoji_export import export_checkpoint  # noqa: E402

COMMANDS = {
    "sample": ["sample", "--prompt", "rocket"],
    "sdedit": ["edit", "sdedit", "--image", "builtin:rocket"],
    "img2img": ["edit", "img2img", "--image", "builtin:chelsea", "--prompt", "cat face"],
    "inpaint": ["edit", "inpaint", "--image", "builtin:camera", "--rect", "8,8,16,16", "--prompt", "fire"],
    "anagram": ["illusion", "anagram", "--prompt", "skull", "--prompt", "rocket", "--views", "identity,rot180"],
    "hybrid": ["illusion", "hybrid", "--prompt", "skull", "--prompt", "ocean"],
}


def classifier(args) -> None:
    torch.set_num_threads(args.threads)
    model, report = train_emoji_classifier(epochs=args.epochs, seed=args.seed, progress=not args.quiet)
    record = {k: v for k, v in asdict(report).items() if k != "epoch_losses"}
    record.update(epoch_losses=[round(v, 5) for v in report.epoch_losses], data_source="difflab.emoji_data",
                  input="ink = (1 - x)/2 of [-1, 1] emoji images; half the training copies are near views "
                  "(emoji_eval.near_view: the high band on white), for the hybrid measure", threads=args.threads)
    path = save_classifier(model, Path(args.out) / "classifier-emoji.safetensors", record, overwrite=args.overwrite,
                           dtype=torch.float16)  # fp16 costs nothing measurable (README, "Shipped weights")
    print(f"{report.summary()} → {path}")


def quality(args) -> None:
    torch.set_num_threads(args.threads)
    model = load_denoiser(args.model, device="cpu")
    clf = load_classifier(args.classifier or builtin_models()["classifier-emoji"])
    result = evaluate_emoji(model, clf, per_prompt=args.per_prompt, illusion_seeds=args.seeds)
    result["model"] = args.model
    _write(args.out, result)


def prompts(args) -> None:
    """Prompt accuracy on the first N emoji of the vocabulary (what `--vocabulary-size N`, e.g. quick-emoji's 32,
    trained on), classified among all of them."""
    torch.set_num_threads(args.threads)
    model = load_denoiser(args.model, device="cpu")
    clf = load_classifier(args.classifier or builtin_models()["classifier-emoji"])
    chars = load_emoji().chars[:args.first]
    start = time.perf_counter()
    accuracy, _, _ = prompt_accuracy(model, clf, args.per_prompt, chars=chars)
    _write(args.out, {"model": args.model, "prompt_accuracy": accuracy, "prompts": len(chars),
                      "samples_per_prompt": args.per_prompt, "guidance": 7.0, "seconds": round(time.perf_counter() - start, 1)})


def speed(args) -> None:
    timings = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "difflab", *argv, "--model", args.model, "--quiet",
                                   "--out", str(Path(folder) / name)], capture_output=True, text=True)
            timings[name] = round(time.perf_counter() - start, 2)
            if done.returncode:
                timings[name + "_error"] = done.stderr.strip().splitlines()[-1:]
    _write(args.out, {"model": args.model, "wall_s": timings, "load": open("/proc/loadavg").read().split()[:3]})


def ship(args) -> None:
    """Export a run's latest checkpoint, measure it, and write that same snapshot with the metrics inside."""
    torch.set_num_threads(args.threads)
    target = Path(args.out)
    with tempfile.TemporaryDirectory() as folder:
        snapshot = export_checkpoint(args.run, Path(folder) / "snapshot.safetensors")
        model = load_denoiser(str(snapshot), device="cpu")
        clf = load_classifier(builtin_models()["classifier-emoji"])
        metrics = evaluate_emoji(model, clf, per_prompt=args.per_prompt, illusion_seeds=args.seeds)
        state, spec, records = load_model_file(snapshot)  # the measured weights, not a newer checkpoint
    save_model_file(target, state, spec, {**records, "metrics": metrics}, dtype=torch.float16, overwrite=True)
    _write(None, metrics)
    print(f"shipped {target} ({target.stat().st_size / 1e6:.1f} MB, step {records['snapshot']['step']})")


def _write(out: str | None, result: dict) -> None:
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if out:
        write_json(out, result, overwrite=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("classifier")
    c.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "src" / "difflab" / "weights"))
    c.add_argument("--epochs", type=int, default=12)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--overwrite", action="store_true")
    for p in (c, q := sub.add_parser("quality"), s := sub.add_parser("speed")):
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--quiet", action="store_true")
    for p in (q, s):
        p.add_argument("model")
        p.add_argument("--out")
    q.add_argument("--classifier")
    pr = sub.add_parser("prompts")
    pr.add_argument("model")
    pr.add_argument("--first", type=int, default=32, help="the first N emoji of the vocabulary (quick-emoji: 32)")
    pr.add_argument("--per-prompt", type=int, default=4)
    pr.add_argument("--threads", type=int, default=1)
    pr.add_argument("--classifier")
    pr.add_argument("--out")
    sh = sub.add_parser("ship")
    sh.add_argument("run")
    sh.add_argument("--out", default=str(weights_dir() / "emoji.safetensors"))
    sh.add_argument("--threads", type=int, default=1)
    for p in (q, sh):
        p.add_argument("--per-prompt", type=int, default=4)
        p.add_argument("--seeds", type=int, default=ILLUSION_SEEDS)
    args = parser.parse_args()
    {"classifier": classifier, "quality": quality, "speed": speed, "ship": ship, "prompts": prompts}[args.what](args)


if __name__ == "__main__":
    main()

"""Copy a finished training run's model into the package as a shipped model (fp16 safetensors).

    PYTHONPATH=src python scripts/ship_model.py RUN_DIR NAME [--weights ema|raw] [--eval EVAL_DIR ...] [--note TEXT]

Writes src/difflab/weights/NAME.safetensors with the run's spec and records (training config,
metrics, and the `difflab eval` results given with --eval) plus where it came from, so `load_denoiser(NAME)` works offline with no download.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from difflab.checkpoints import load_model_file, save_model_file
from difflab.models.registry import weights_dir
from difflab.training.outputs import run_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema")
    parser.add_argument("--note", default="", help="why these weights (recorded in the file)")
    parser.add_argument("--eval", nargs="*", default=[], type=Path, help="difflab eval run folders to record")
    args = parser.parse_args()

    source = args.run_dir / ("model.safetensors" if args.weights == "ema" else "model-raw.safetensors")
    state, spec, records = load_model_file(source)
    if spec.get("extra", {}).get("weights") != args.weights:
        raise SystemExit(f"{source} holds {spec.get('extra', {}).get('weights')} weights, not {args.weights}")
    done = run_records(args.run_dir)  # per-epoch records and the per-iteration curve (B2.2/B2.5 …)
    epochs, steps, losses = done["epochs"], done["loss_history"]["step"], done["loss_history"]["loss"]
    records = {**records, "shipped": {"name": args.name, "weights": args.weights, "dtype": "float16",
                                      "source_run": str(args.run_dir), "note": args.note},
               "epochs": epochs,
               "loss_history": {"step": steps, "loss": [float(f"{loss:.6g}") for loss in losses]},
               "evaluations": [json.loads((folder / "metrics.json").read_text()) for folder in args.eval]}
    target = weights_dir() / f"{args.name}.safetensors"
    save_model_file(target, state, spec, records, dtype=torch.float16, overwrite=True)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

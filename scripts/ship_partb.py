"""Copy the snapshots of finished Part B training runs into the package (fp16 safetensors).

    PYTHONPATH=src python scripts/ship_partb.py RUN_DIR RECIPE [--eval N] [--note TEXT]

Writes src/difflab/weights/partb/RECIPE-epoch-NNN.safetensors for every epoch snapshot the run
exported (its config's sample_epochs, EMA weights). The last epoch's file also holds what the tour
draws the run's curves and tables from: the training config, metrics, per-epoch records and the
per-iteration losses; with --eval N, time-only and class-conditioned runs also record the
classifier-FID (beside its floor) of N samples drawn with the run's own sampler settings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from difflab.checkpoints import load_model_file, save_model_file
from difflab.data import load_dataset
from difflab.evaluation.sampled import sample_and_score
from difflab.models.registry import load_denoiser, weights_dir
from difflab.training.outputs import run_records


def evaluation(model_file: Path, config: dict, n: int) -> dict:
    """classifier-FID, its floor and class accuracy of n samples, sampled as the run's grids are."""
    denoiser = load_denoiser(str(model_file), device="cpu")
    real = load_dataset(denoiser.spec.dataset, "all").images
    scored = sample_and_score(denoiser, real, n, config["sample_steps"], config["guidance"], seed=0)
    result = scored.result
    return {"n": n, "steps": config["sample_steps"], "guidance": config["guidance"] if scored.labels is not None
            else None, "sampler": "course", "classifier_fid": round(result.fid, 4),
            "classifier_fid_floor": round(result.fid_floor, 4), "kid": round(result.kid, 5),
            "kid_floor": round(result.kid_floor, 5),
            "class_accuracy": None if scored.labels is None else round(result.class_accuracy, 4),
            "summary": result.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("recipe", help="file stem: denoise, pure-noise, ddpm, flow, ddpm-class, flow-bw, …")
    parser.add_argument("--eval", type=int, default=0, help="samples for the recorded classifier-FID (0: none)")
    parser.add_argument("--note", default="", help="why this run (recorded in the last file)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = json.loads((args.run_dir / "config.json").read_text())
    snapshots = sorted((args.run_dir / "checkpoints").glob("epoch-[0-9][0-9][0-9].safetensors"))
    if not snapshots or int(snapshots[-1].stem[-3:]) != config["epochs"]:
        raise SystemExit(f"{args.run_dir} has no snapshot of its last epoch (sample_epochs must include it)")
    target = weights_dir() / "partb"
    target.mkdir(exist_ok=True)
    for snapshot in snapshots:
        state, spec, records = load_model_file(snapshot)
        epoch = int(snapshot.stem[-3:])
        records = {"epoch": epoch, "train_config": config, "run": args.recipe}
        if epoch == config["epochs"]:
            done = run_records(args.run_dir)
            history = done["loss_history"]
            records.update(
                metrics=done["metrics"], epochs=done["epochs"],
                loss_history={"step": history["step"], "loss": [float(f"{loss:.5g}") for loss in history["loss"]]},
                shipped={"source_run": str(args.run_dir), "note": args.note, "dtype": "float16"},
                evaluations=[evaluation(snapshot, config, args.eval)] if args.eval and config["kind"] in
                ("ddpm", "flow") else [])
        path = target / f"{args.recipe}-epoch-{epoch:03d}.safetensors"
        save_model_file(path, state, spec, records, dtype=torch.float16, overwrite=True)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

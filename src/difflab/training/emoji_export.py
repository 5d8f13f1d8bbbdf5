"""A snapshot of an emoji training run: its latest checkpoint's EMA weights as a model file.

    python -m difflab.training.emoji_export RUN_DIR OUT.safetensors

Reads checkpoints/latest.safetensors only (written atomically by the trainer), so a running
training is never disturbed; the records say which step the snapshot is of.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..emoji_data import load_emoji
from ..errors import UserError
from ..models.emoji import export_emoji_model
from .emoji import EmojiConfig, build_net


def export_checkpoint(run_dir, out, overwrite: bool = False, extra_records: dict | None = None) -> Path:
    """The EMA weights of a (running or stopped) emoji run's latest checkpoint as a model file."""
    from safetensors import safe_open

    latest = Path(run_dir) / "checkpoints" / "latest.safetensors"
    if not latest.is_file():
        raise UserError(f"{run_dir} has no checkpoint yet ({latest})")
    with safe_open(str(latest), framework="pt") as handle:
        meta = handle.metadata()
        prefix = "ema." if any(k.startswith("ema.") for k in handle.keys()) else "model."
        state = {k[len(prefix):]: handle.get_tensor(k) for k in handle.keys() if k.startswith(prefix)}
    cfg = EmojiConfig.from_dict(json.loads(meta["config"]))
    position = json.loads(meta["position"])
    net = build_net(cfg)
    net.load_state_dict(state)
    data = load_emoji(cfg.image_size)
    records = {"train_config": cfg.to_dict(), "snapshot": {"step": position["step"],
               "images_seen": position["step"] * cfg.batch_size, "train_time_s": round(position["train_s"], 1),
               "weights": prefix.rstrip(".")}, **(extra_records or {})}
    keep = cfg.vocabulary_size or len(data)
    return export_emoji_model(out, net, cfg, data.chars[:keep], data.captions[:keep], records, overwrite=overwrite)


if __name__ == "__main__":
    import sys

    print(export_checkpoint(sys.argv[1], sys.argv[2], overwrite=True))

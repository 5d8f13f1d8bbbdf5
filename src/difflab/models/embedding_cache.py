"""The one on-disk cache of prompt embeddings, shared by IF's T5 prompts and the emoji model's MiniLM.

An entry is ``$DIFFLAB_CACHE/prompt-embeds/<encoder>/<sha256 of the text>.safetensors`` (default
``~/.cache/difflab``) holding one tensor, "embedding", with the text in its metadata. A missing,
corrupt or foreign entry (another text under the same name, a wrong shape) reads as None and is
recomputed and replaced by the caller; an unwritable cache only costs a re-encode next time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from torch import Tensor

from ..atomic import atomic_write
from ..errors import UserError


def cache_root() -> Path:
    """The folder difflab caches into: $DIFFLAB_CACHE, else ~/.cache/difflab."""
    return Path(os.environ.get("DIFFLAB_CACHE") or Path.home() / ".cache" / "difflab").expanduser()


class EmbeddingCache:
    """Text → embedding files in `folder` (default: the prompt-embeds folder of `encoder`)."""

    def __init__(self, encoder: str, folder: str | os.PathLike | None = None):
        self.encoder = encoder
        self.folder = Path(folder) if folder is not None else cache_root() / "prompt-embeds" / encoder

    def file(self, text: str) -> Path:
        return self.folder / f"{hashlib.sha256(text.encode()).hexdigest()}.safetensors"

    def read(self, text: str, check: Callable[[Tensor, str], Tensor | None]) -> Tensor | None:
        """The cached embedding of `text` passed through `check(tensor, where)` (None: not usable)."""
        file = self.file(text)
        if not file.is_file():
            return None
        try:
            from safetensors import safe_open
            with safe_open(str(file), "pt") as handle:
                if (handle.metadata() or {}).get("prompt") != text:
                    return None
                return check(handle.get_tensor("embedding"), str(file))
        except Exception:  # noqa: BLE001 - a corrupt or foreign entry is recomputed and replaced
            return None

    def write(self, text: str, row: Tensor) -> None:
        from safetensors.torch import save
        try:
            with atomic_write(self.file(text), overwrite=True) as handle:
                handle.write(save({"embedding": row.contiguous()}, metadata={"prompt": text, "model": self.encoder}))
        except (UserError, OSError):
            pass  # an unwritable cache only costs a re-encode next time

"""Prompt embeddings for DeepFloyd IF: a prompt dict, an on-disk cache, then the T5 encoder.

An IF prompt embedding is the T5-v1.1-XXL encoder's last hidden state for the prompt, tokenised to
77 tokens: a tensor (1, 77, 4096) (spec §2.0). `PromptEmbeddings` answers a list of prompts from, in
order: an explicit prompt dict (e.g. the course's ``prompt_embeds_dict.pth``), the disk cache
``$DIFFLAB_CACHE/prompt-embeds/<model>/<sha256>.safetensors`` (default ``~/.cache/difflab``), and
only then the T5 encoder, loaded on first need. None and "" both mean the empty prompt, the null
condition of classifier-free guidance. Embeddings come back float32 on the CPU; the IF adapter casts.

transformers is imported lazily, so difflab imports without it.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor

from ..errors import UserError
from .embedding_cache import EmbeddingCache
from .hub import loading, local_files, variant_for

EMBED_LENGTH = 77  # IF's T5 was trained with 77 tokens (diffusers' IFPipeline.encode_prompt)
EMBED_WIDTH = 4096  # T5-v1.1-XXL hidden size


def model_key(source: str) -> str:
    """A folder name for a model source: "DeepFloyd--IF-I-XL-v1.0", or "<name>-<hash>" for a local folder."""
    path = Path(source).expanduser()
    if path.is_dir():
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        return f"{_safe_name(path.resolve().name)}-{digest}"
    return _safe_name(source.replace("/", "--"))


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.-]", "_", text)


def clean_prompt(prompt: str | None) -> str:
    """The text IF actually encodes: lower-cased and stripped ("" for None), as IFPipeline does."""
    return "" if prompt is None else str(prompt).lower().strip()


def load_prompt_dict(path: str | os.PathLike, width: int | None = None,
                     length: int | None = EMBED_LENGTH) -> dict[str, Tensor]:
    """Read a prompt → embedding dict: a ``.pth`` (the course's ``prompt_embeds_dict.pth``, read with
    weights_only=True, never unpickling code) or a ``.safetensors`` file whose tensor names are prompts.

    Each value must be (1, length, width) or (length, width); returns float32 (1, length, width) tensors.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"prompt embedding file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            table = load_file(str(path))
        else:
            table = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling refused, corrupt file, wrong format: all the user's to fix
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise UserError(f"cannot read prompt embeddings from {path} (expected a dict of prompt → tensor "
                        f"saved with torch.save or safetensors): {reason}") from None
    if not isinstance(table, Mapping) or not table:
        raise UserError(f"{path} does not hold a non-empty dict of prompt → embedding tensor")
    return {key: _check_row(value, f"{path}[{key!r}]", width, length) for key, value in table.items()}


def _check_row(value, where: str, width: int | None, length: int | None) -> Tensor:
    if not isinstance(value, Tensor) or not value.is_floating_point():
        raise UserError(f"{where} is not a floating-point tensor")
    row = value.unsqueeze(0) if value.dim() == 2 else value
    want = (1, length or row.shape[1], width or row.shape[-1])
    if row.dim() != 3 or tuple(row.shape) != want:
        raise UserError(f"{where} has shape {tuple(value.shape)}; a prompt embedding must be {want}")
    return row.detach().to(torch.float32).contiguous()


class PromptEncoder:
    """The T5 encoder and tokenizer of an IF repo (``text_encoder/``, ``tokenizer/``), loaded alone.

    8-bit (bitsandbytes) on a GPU where bitsandbytes is installed, else float16 on a GPU and float32
    on the CPU. Call it with a list of prompts to get float32 (N, length, width) on the CPU.
    """

    def __init__(self, source: str, device: str | torch.device | None = None, length: int = EMBED_LENGTH,
                 eight_bit: bool | None = None, offline: bool | None = None):
        from transformers import AutoTokenizer, T5EncoderModel

        self.source, self.length = source, length
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        cuda = self.device.type == "cuda"
        kwargs: dict = {_dtype_key(): torch.float16 if cuda else torch.float32}
        if cuda and (eight_bit if eight_bit is not None else _has_bitsandbytes()):
            from transformers import BitsAndBytesConfig
            kwargs.update(quantization_config=BitsAndBytesConfig(load_in_8bit=True),
                          device_map={"": self.device.index or 0})
        local = local_files(offline)
        with loading(source, "T5 text encoder", offline):
            self.tokenizer = AutoTokenizer.from_pretrained(source, subfolder="tokenizer", **local)
            self.model = T5EncoderModel.from_pretrained(source, subfolder="text_encoder",
                                                        variant=variant_for(source, "text_encoder"), **kwargs, **local)
        if "device_map" not in kwargs:
            self.model.to(self.device)
        self.model.eval()
        self.calls = 0

    @torch.no_grad()
    def __call__(self, prompts: Sequence[str | None]) -> Tensor:
        """T5 last hidden states for the cleaned prompts, with IF's tokenisation and attention mask."""
        self.calls += 1
        tokens = self.tokenizer([clean_prompt(p) for p in prompts], padding="max_length", max_length=self.length,
                                truncation=True, add_special_tokens=True, return_tensors="pt")
        out = self.model(tokens.input_ids.to(self.device), attention_mask=tokens.attention_mask.to(self.device))
        return out[0].float().cpu()

    def release(self) -> None:
        """Free the encoder's memory (it is reloaded if needed again)."""
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _dtype_key() -> str:
    """transformers renamed from_pretrained's torch_dtype to dtype in 4.56."""
    import transformers

    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def _has_bitsandbytes() -> bool:
    try:
        import bitsandbytes  # noqa: F401
    except Exception:  # not installed, or installed without a usable CUDA build
        return False
    return True


class PromptEmbeddings:
    """Prompt → embedding, from a prompt dict, then the disk cache, then the T5 encoder (lazily).

    encoder: a callable returning a `PromptEncoder`-like object (called once, on the first prompt
    that neither the dict nor the cache holds); None means no encoder is available.
    keep_encoder: keep the encoder loaded after use (False frees its memory for the UNets).
    """

    def __init__(self, key: str, width: int = EMBED_WIDTH, length: int = EMBED_LENGTH,
                 table: Mapping[str, Tensor] | None = None, table_name: str = "the prompt dict",
                 encoder: Callable[[], Callable[[Sequence[str]], Tensor]] | None = None,
                 cache_dir: str | os.PathLike | None = None, keep_encoder: bool = True):
        self.key, self.width, self.length = key, width, length
        self.table = {k: _check_row(v, f"{table_name}[{k!r}]", width, length) for k, v in (table or {}).items()}
        self.table_name = table_name
        self.encoder_factory, self.keep_encoder = encoder, keep_encoder
        self.cache = EmbeddingCache(key, cache_dir)
        self._encoder = None

    @property
    def cache_dir(self) -> Path:
        return self.cache.folder

    def __call__(self, prompts: Sequence[str | None]) -> Tensor:
        """(N, length, width) float32 on the CPU, one row per prompt (None and "" → the empty prompt)."""
        found = {p: self._lookup(p) for p in dict.fromkeys(prompts)}
        missing = [p for p, row in found.items() if row is None]
        if missing:
            found.update(zip(missing, self._encode(missing)))
        return torch.cat([found[p] for p in prompts]) if prompts else torch.zeros(0, self.length, self.width)

    def _lookup(self, prompt: str | None) -> Tensor | None:
        for key in (prompt if prompt is not None else "", clean_prompt(prompt)):
            if key in self.table:
                return self.table[key]
        return self.cache.read(clean_prompt(prompt), lambda row, where: _check_row(row, where, self.width, self.length))

    def _encode(self, prompts: list[str | None]) -> list[Tensor]:
        texts = list(dict.fromkeys(clean_prompt(p) for p in prompts))
        if "" not in texts and self._lookup("") is None:
            texts.append("")  # the null prompt of CFG is asked for next: encode it while loaded
        encoder = self._load_encoder(prompts[0])
        rows = dict(zip(texts, encoder(texts).split(1)))
        if not self.keep_encoder:
            self.release()
        for text, row in rows.items():
            if tuple(row.shape) != (1, self.length, self.width):
                raise UserError(f"the T5 encoder gave embeddings of shape {tuple(row.shape[1:])}, "
                                f"but the model expects {(self.length, self.width)}")
            self.cache.write(text, row)
        return [rows[clean_prompt(p)] for p in prompts]

    def _load_encoder(self, prompt: str | None):
        if self._encoder is None:
            where = f"not in {self.table_name}" if self.table else "no prompt embedding file given"
            hint = f"no embedding for the prompt {clean_prompt(prompt)!r} ({where}, not cached in {self.cache_dir})"
            if self.encoder_factory is None:
                raise UserError(f"{hint} and no T5 encoder to compute it; pass a prompt embedding file that "
                                "holds it (--prompt-embeds FILE)")
            try:
                self._encoder = self.encoder_factory()
            except UserError as err:
                raise UserError(f"{hint}, and the T5 encoder cannot be loaded: {str(err).rstrip('.')}; or pass a "
                                "prompt embedding file that holds it (--prompt-embeds FILE)") from err
        return self._encoder

    def release(self) -> None:
        """Free the T5 encoder, if one is loaded."""
        if self._encoder is not None and hasattr(self._encoder, "release"):
            self._encoder.release()
        self._encoder = None

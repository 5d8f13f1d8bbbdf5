"""Where an IF UNet runs: the memory modes, and a UNet placed by one with the prompts it reads.

Memory modes (``memory=``): "none" (the UNet stays on the GPU), "model-offload" (the UNet lives on
the CPU and moves to the GPU when called, evicting the other offloaded IF UNet), "sequential-offload"
(accelerate streams each layer to the GPU; least memory, slowest) and "auto" (chosen from
`torch.cuda.mem_get_info`). On the CPU the mode is always "none".

With "model-offload", at most one offloaded UNet is on the GPU at a time (`_RESIDENT`), and the
T5 encoder is freed before a UNet moves in.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import UserError
from .prompts import PromptEmbeddings

MEMORY_MODES = ("auto", "none", "model-offload", "sequential-offload")
HEADROOM = 2 * 2**30  # bytes kept free for activations beside a UNet's weights
_RESIDENT: list["PlacedUNet"] = []  # model-offload UNets now on the GPU


def auto_memory(weight_bytes: int, free: int, total: int) -> str:
    """The memory mode for a UNet of `weight_bytes` on a GPU with `free` of `total` bytes available."""
    if free >= 2 * weight_bytes + HEADROOM:  # room for it and another model (stage II or the T5) beside it
        return "none"
    if total >= weight_bytes + HEADROOM:  # it fits once the other models have been moved off
        return "model-offload"
    return "sequential-offload"


def choose_memory(memory: str, device: torch.device, weight_bytes: int) -> str:
    if memory not in MEMORY_MODES:
        raise UserError(f"unknown memory mode {memory!r}; choose one of {', '.join(MEMORY_MODES)}")
    if device.type != "cuda":
        return "none"
    if memory != "auto":
        return memory
    return auto_memory(weight_bytes, *torch.cuda.mem_get_info(device))


class PlacedUNet:
    """A diffusers IF UNet placed per memory mode, with the prompt embeddings it reads."""

    def __init__(self, unet, source: str, device: torch.device, memory: str, prompts: PromptEmbeddings):
        self.unet, self.source, self.device, self.prompts = unet, source, device, prompts
        self.dtype, self.config = unet.dtype, unet.config
        weights = sum(p.numel() * p.element_size() for p in unet.parameters())
        self.memory = choose_memory(memory, device, weights)
        if self.memory == "none":
            unet.to(device)
        elif self.memory == "sequential-offload":
            from accelerate import cpu_offload
            cpu_offload(unet, execution_device=device)

    def offload(self) -> None:
        """Move a model-offload UNet back to the CPU (done for you when another one runs)."""
        if self in _RESIDENT:
            self.unet.to("cpu")
            _RESIDENT.remove(self)
            torch.cuda.empty_cache()

    def _place(self) -> None:
        if self.memory == "model-offload" and self not in _RESIDENT:
            for other in list(_RESIDENT):
                other.offload()
            self.prompts.release()
            self.unet.to(self.device)
            _RESIDENT.append(self)

    @torch.no_grad()
    def __call__(self, model_input: Tensor, t: Tensor, cond: Tensor | None, class_labels: Tensor | None = None):
        """The raw UNet output (N, out_channels, H, W), float32 on model_input's device."""
        n = model_input.shape[0]
        if cond is None:
            cond = self.prompts([None]).expand(n, -1, -1)
        want = (n, self.prompts.length, self.prompts.width)
        if tuple(cond.shape) != want:
            raise ValueError(f"prompt embeddings of shape {tuple(cond.shape)} for a batch needing {want}")
        t = torch.as_tensor(t).reshape(-1).expand(n).to(self.device, torch.long)
        self._place()
        kwargs = {} if class_labels is None else {"class_labels": class_labels.to(self.device)}
        x, cond = model_input.to(self.device, self.dtype), cond.to(self.device, self.dtype)
        out = self.unet(x, t, encoder_hidden_states=cond, return_dict=False, **kwargs)[0]
        return out.float().to(model_input.device)

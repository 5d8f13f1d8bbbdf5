"""Where a run executes: one process, or several through Accelerate; its precision and layout.

One rule decides the path: a run launched with more than one process (``WORLD_SIZE`` > 1, as set
by ``accelerate launch --multi_gpu``, ``torchrun`` or ``mpirun``) trains data-parallel through
Accelerate; any other run is the plain single-process loop, which imports nothing from Accelerate.

Data parallelism keeps the arithmetic of one process with the global batch B:

* every process draws the same global batch of B images, noise, times and class dropout from the
  run's generators, and trains on its own contiguous shard (`shard`);
* its loss is weighted by P·n_r / B (1 for equal shards), so the mean of the P gradients that DDP
  averages is the gradient of the global batch's mean loss;
* BatchNorm statistics are those of the global batch (`GlobalBatchNorm`): the course UNet has a
  BatchNorm after every convolution, and per-shard statistics would train a different model.

So P processes reproduce one process with the same batch up to float rounding, and the loss
logged by the main process is the global batch's. Precision: fp32 by default; ``mixed`` is bf16
where the device has it, else fp16 with a GradScaler (autocast around the loss, not the step).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
from torch import distributed as dist
from torch import nn

from ..errors import UserError

PRECISIONS = ("fp32", "mixed", "bf16", "fp16")
_WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def launched_processes() -> int:
    """How many processes the launcher started (1 when run directly)."""
    for name in _WORLD_SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def shard(batch: int, rank: int, world: int) -> slice:
    """Rows of a global batch of `batch` that process `rank` of `world` trains on (contiguous)."""
    base, extra = divmod(batch, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


def check_shards(images: int, batch_size: int, world: int) -> None:
    """Every batch, an epoch's last included, must give each of `world` processes an image."""
    smallest = min(batch_size, images - (-(-images // batch_size) - 1) * batch_size)
    if smallest < world:
        raise UserError(f"a batch of {smallest} images cannot be split over {world} processes; choose a "
                        f"batch size and train_images whose every batch has at least {world} images")


def resolve_precision(precision: str, device: torch.device) -> str:
    """fp32 | bf16 | fp16 actually used on `device` (``mixed``: bf16 where supported, else fp16)."""
    if precision == "mixed":
        native = device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False)
        bf16 = device.type == "cpu" or native
        precision = "bf16" if bf16 else "fp16"
    if precision == "fp16" and device.type != "cuda":
        raise UserError(f"fp16 training needs a CUDA device (this run is on {device}); use --precision bf16")
    return precision


class _SumOverProcesses(torch.autograd.Function):
    """y = Σ_processes x; the gradient of x is likewise Σ_processes of the gradients of y."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the batch over all processes.

    Differentiable all-reduces of Σx and Σ(x − μ)² (two passes, as a one-process BatchNorm
    computes them) carry the gradient of the global statistics back to every shard. Works on any
    backend (gloo included), which `torch.nn.SyncBatchNorm` does not. Eval mode is BatchNorm's.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        dims, view, dtype = (0, 2, 3), (1, -1, 1, 1), x.dtype
        x = x.float()  # statistics in fp32 under autocast too, as BatchNorm's own kernels keep them
        count = torch.tensor([x.numel() / x.shape[1]], device=x.device)
        sums = _SumOverProcesses.apply(torch.cat([x.sum(dims), count]))   # Σx of every channel, and N
        count = sums[-1:].detach()
        mean = sums[:-1] / count
        centred = x - mean.view(view)
        var = _SumOverProcesses.apply(centred.square().sum(dims)) / count  # biased, for normalising
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            momentum = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked.item()
            self.running_mean.lerp_(mean, momentum)
            self.running_var.lerp_(var * count / (count - 1).clamp(min=1), momentum)  # unbiased
        scale = torch.rsqrt(var + self.eps) * self.weight
        return (centred * scale.view(view) + self.bias.view(view)).to(dtype)


def use_global_batchnorm(net: nn.Module) -> nn.Module:
    """Turn every BatchNorm2d of `net` into a GlobalBatchNorm in place (same parameters, buffers)."""
    for module in net.modules():
        if type(module) is nn.BatchNorm2d:
            module.__class__ = GlobalBatchNorm
    return net


@dataclass
class Processes:
    """The processes of a run: `rank` of `world`, the device of this one, and their collectives."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    accelerator: object = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, net: nn.Module) -> nn.Module:
        """The module to train: `net` itself, or `net` (global BatchNorm) inside DDP."""
        if self.world == 1:
            return net
        return self.accelerator.prepare_model(use_global_batchnorm(net))

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The elementwise mean of `values` over the processes."""
        if self.world == 1:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values / self.world

    def main_first(self, work):
        """Run `work()` on the main process and hand its result (or its UserError) to every process."""
        if self.world == 1:
            return work()
        box = [None]
        if self.is_main:
            try:
                box[0] = ("ok", work())
            except UserError as err:
                box[0] = ("error", str(err))
        dist.broadcast_object_list(box, src=0)
        if box[0][0] == "error":
            raise UserError(box[0][1])
        return box[0][1]

    def close(self) -> None:
        """Wait for every process, then take the process group down: a worker that exits while
        another still writes its files leaves gloo threads to die at exit ("terminate called")."""
        if self.world > 1 and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    def agree(self, value) -> bool:
        """Whether every process holds the same `value` (a small picklable object)."""
        if self.world == 1:
            return True
        values = [None] * self.world
        dist.all_gather_object(values, value)
        return all(v == values[0] for v in values)


def start_processes(device: str) -> Processes:
    """`Processes` for this run; `device` is the config's (auto, cpu, cuda, cuda:N)."""
    if os.environ.get("ACCELERATE_MIXED_PRECISION", "no") != "no":
        raise UserError("difflab sets the precision itself: use `difflab train --precision mixed`, "
                        "not `accelerate launch --mixed_precision`")
    world = launched_processes()
    if world == 1:
        return Processes(device=torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                                             "cpu" if device == "auto" else device))
    if device not in ("auto", "cpu", "cuda"):
        raise UserError(f"with {world} processes each one takes the GPU of its local rank; use --device auto, "
                        f"cuda or cpu, not {device}")
    try:
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs
    except ImportError:
        raise UserError("training with several processes needs Accelerate: pip install 'difflab[multi]'") from None
    on_cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    # Buffers need no broadcast: GlobalBatchNorm keeps the running statistics equal everywhere.
    accelerator = Accelerator(cpu=on_cpu, mixed_precision="no",
                              kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)])
    return Processes(accelerator.process_index, accelerator.num_processes, accelerator.device, accelerator)


class Precision:
    """Autocast around the loss and, for fp16, a GradScaler around backward and step."""

    def __init__(self, precision: str, device: torch.device):
        self.name = resolve_precision(precision, device)
        self.device = device
        self.scaler = torch.amp.GradScaler("cuda") if self.name == "fp16" else None

    def autocast(self):
        if self.name == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.name == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def backward_and_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)   # skipped when a gradient is inf or nan; the scale then backs off
        self.scaler.update()

    def state(self) -> dict:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)

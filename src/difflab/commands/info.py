"""`difflab info`: versions, devices and the paths and schedules difflab knows."""

from __future__ import annotations

import platform

import torch

from .. import __version__
from ..paths import course_ddpm_path, deepfloyd_path


def register(sub) -> None:
    parser = sub.add_parser("info", help="show versions, devices and the built-in noise schedules")
    parser.set_defaults(func=run)


def run(args) -> int:
    cuda = torch.cuda.is_available()
    print(f"difflab {__version__}  python {platform.python_version()}  torch {torch.__version__}")
    print(f"device: {'cuda (' + torch.cuda.get_device_name(0) + ')' if cuda else 'cpu'}, "
          f"{torch.get_num_threads()} threads")
    for path in (deepfloyd_path(), course_ddpm_path()):
        abar = path.alphas_cumprod
        print(f"path {path.name}: T = {path.num_train_steps}, ᾱ from {abar[0].item():.5f} to {abar[-1].item():.6f}")
    print("path flow: x_t = (1 − t)·noise + t·data, t ∈ [0, 1]")
    return 0

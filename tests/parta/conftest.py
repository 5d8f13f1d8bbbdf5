"""Tiny course models for Part A tests: random D = 4 nets with calibrated BatchNorm, milliseconds per step."""

import pytest
import torch
from torch import nn

from difflab.checkpoints import save_model_file
from difflab.models.course import CourseDenoiser, CourseSpec
from difflab.models.unet import CourseUNet


def tiny_net(conditioning="time+class", time_mode="add", seed=0, hidden=4):
    """A random net in eval mode whose BatchNorm statistics come from one random batch (unit-scale outputs)."""
    torch.manual_seed(seed)
    net = CourseUNet(hidden=hidden, conditioning=conditioning, time_mode=time_mode)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
    c = nn.functional.one_hot(torch.arange(8) % 10, 10).float() if conditioning == "time+class" else None
    with torch.no_grad():
        net.train()(torch.rand(8, 1, 28, 28), torch.rand(8), c)
    return net.eval()


def tiny_spec(net, objective):
    return CourseSpec(objective=objective, unet=net.config)


def tiny_denoiser(objective="flow", conditioning="time+class", seed=0):
    net = tiny_net(conditioning, "mul" if objective == "flow" else "add", seed)
    return CourseDenoiser(net, tiny_spec(net, objective), name=f"tiny-{objective}")


@pytest.fixture(scope="session")
def model_files(tmp_path_factory):
    """name → path of tiny model files: flow/ddpm, class-conditioned or unconditional."""
    folder = tmp_path_factory.mktemp("models")
    files = {}
    for objective in ("flow", "ddpm"):
        for conditioning in ("time+class", "time"):
            net = tiny_net(conditioning, "mul" if objective == "flow" else "add")
            name = f"{objective}-{'class' if conditioning == 'time+class' else 'uncond'}"
            files[name] = save_model_file(folder / f"{name}.safetensors", net.state_dict(),
                                          tiny_spec(net, objective).to_dict())
    return files

"""Tiny course models for Part A tests: random D = 4 nets with calibrated BatchNorm, milliseconds per step."""

import torch
from torch import nn

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

"""The EMA: warm-up decay, BatchNorm statistics included."""

import torch

from difflab.models.unet import CourseUNet
from difflab.training.ema import EMA


def test_warmup_decay_follows_diffusers():
    ema = EMA(torch.nn.Linear(1, 1), 0.999)
    assert ema.decay_at(0) == 0.1 and ema.decay_at(90) == 91 / 100
    assert ema.decay_at(10 ** 6) == 0.999
    assert EMA(torch.nn.Linear(1, 1), 0.999, warmup=False).decay_at(0) == 0.999


def test_update_averages_weights_and_buffers_and_copies_counters():
    torch.manual_seed(0)
    net = CourseUNet(hidden=4)
    ema = EMA(net, 0.5)
    before = {k: v.clone() for k, v in ema.net.state_dict().items()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    net.train()(torch.rand(4, 1, 28, 28))   # moves the BatchNorm running statistics
    ema.update(net, updates=0)              # d = min(0.5, 0.1) = 0.1
    after, current = ema.net.state_dict(), net.state_dict()
    for name, value in after.items():
        if value.is_floating_point():
            assert torch.allclose(value, 0.1 * before[name] + 0.9 * current[name], atol=1e-6), name
        else:
            assert torch.equal(value, current[name]), name
    assert not ema.net.training and not any(p.requires_grad for p in ema.net.parameters())

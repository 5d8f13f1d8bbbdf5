import pytest
import torch

from difflab.guidance import GuidedDenoiser, cfg_combine
from difflab.paths import deepfloyd_path
from toy import PointDenoiser


def _setup():
    model = PointDenoiser(deepfloyd_path(), torch.zeros(1, 1, 2, 2), variance=0.3)
    x, t = torch.randn(3, 1, 2, 2), torch.full((3,), 500)
    cond = model.encode([1, 2, 3])
    return model, x, t, cond


def test_scale_one_is_conditional_and_zero_is_unconditional():
    model, x, t, cond = _setup()
    c = model(x, t, cond).prediction
    u = model(x, t, model.encode([None] * 3)).prediction
    assert torch.allclose(GuidedDenoiser(model, 1.0)(x, t, cond).prediction, c)
    assert torch.allclose(GuidedDenoiser(model, 0.0)(x, t, cond).prediction, u)


def test_guided_prediction_convention_and_single_batched_call():
    model, x, t, cond = _setup()
    c = model(x, t, cond).prediction
    u = model(x, t, model.encode([None] * 3)).prediction
    model.calls = 0
    out = GuidedDenoiser(model, 7.0)(x, t, cond)
    assert model.calls == 1  # cond and uncond in one batched forward pass
    assert torch.allclose(out.prediction, u + 7.0 * (c - u), atol=1e-5)
    assert torch.allclose(cfg_combine(u, c, 7.0), out.prediction, atol=1e-5)
    assert out.variance.shape == x.shape


def test_negative_scale_rejected():
    model, *_ = _setup()
    with pytest.raises(ValueError):
        GuidedDenoiser(model, -1.0)

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


def test_guidance_is_affine_in_scale_through_its_shortcuts():
    # γ = 0 and γ = 1 take shortcuts (one branch only); they must lie on the line u + γ·(c − u)
    # that the batched path draws through γ = 0.5 and γ = 1.5.
    model, x, t, cond = _setup()
    guided = {g: GuidedDenoiser(model, g)(x, t, cond).prediction for g in (0.0, 0.5, 1.0, 1.5)}
    assert not torch.allclose(guided[0.5], guided[1.5])
    assert torch.allclose(guided[1.0], (guided[0.5] + guided[1.5]) / 2, atol=1e-6)
    assert torch.allclose(guided[0.0], 1.5 * guided[0.5] - 0.5 * guided[1.5], atol=1e-6)


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

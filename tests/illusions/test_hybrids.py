import pytest
import torch

from tiny_course import tiny_denoiser
from difflab.editing import sample
from difflab.errors import UserError
from difflab.filters import highpass, lowpass
from difflab.guidance import GuidedDenoiser
from difflab.illusions.hybrids import FactorizedDenoiser, grey
from difflab.paths import deepfloyd_path
from difflab.sampling import NoiseSource
from toy import PointDenoiser


def setup(channels=1, size=28, variance=None, path=None):
    target = torch.rand(1, channels, size, size, generator=torch.Generator().manual_seed(0))
    base = PointDenoiser(path or deepfloyd_path(), target, variance=variance)
    x, t = torch.randn(2, channels, size, size), torch.full((2,), 600)
    return base, x, t


def test_same_condition_on_both_sides_is_the_base_denoiser():
    base, x, t = setup(variance=0.2)
    cond = base.encode([2, 2])
    hybrid = FactorizedDenoiser(base, cond, cond)
    assert torch.allclose(hybrid(x, t).prediction, base(x, t, cond).prediction, atol=1e-5)
    assert torch.allclose(hybrid(x, t).variance, base(x, t, cond).variance, atol=1e-6)


def test_lowpass_of_one_highpass_of_the_other_in_one_call():
    base, x, t = setup()
    far, near = base.encode([1, 1]), base.encode([3, 3])
    hybrid = FactorizedDenoiser(base, far, near)
    assert hybrid.settings == {"factor": "lowpass", "kernel_size": 15, "sigma": 0.875}
    base.calls = 0
    out = hybrid(x, t).prediction
    assert base.calls == 1
    expected = lowpass(base(x, t, far).prediction, 15, 0.875) + highpass(base(x, t, near).prediction, 15, 0.875)
    assert torch.allclose(out, expected, atol=1e-5)


def test_colour_factorization():
    base, x, t = setup(channels=3, size=16)
    a, b = base.encode([1, 1]), base.encode([3, 3])
    out = FactorizedDenoiser(base, a, b, kind="color")(x, t).prediction
    pa, pb = base(x, t, a).prediction, base(x, t, b).prediction
    assert torch.allclose(out, grey(pa) + pb - grey(pb), atol=1e-6)
    assert torch.allclose(grey(out), grey(pa), atol=1e-6)
    with pytest.raises(UserError, match="colour"):
        FactorizedDenoiser(setup()[0], a, b, kind="color")


def test_bad_settings():
    base, *_ = setup()
    for kwargs in ({"kernel_size": 14}, {"kernel_size": 61}, {"kind": "wavelet"}, {"sigma": -1.0}):
        with pytest.raises(UserError):
            FactorizedDenoiser(base, base.encode([1]), base.encode([2]), **kwargs)


def test_hybrid_on_a_course_flow_model():
    model = tiny_denoiser("flow")
    hybrid = FactorizedDenoiser(GuidedDenoiser(model, 5.0), model.encode([0]), model.encode([1]))
    out = sample(hybrid, model.path.grid(4), NoiseSource([0]))
    assert out.shape == (1, 1, 28, 28) and torch.isfinite(out).all()

import pytest
import torch

from tiny_course import tiny_denoiser
from difflab.editing import sample
from difflab.errors import UserError
from difflab.guidance import GuidedDenoiser
from difflab.illusions.anagrams import MultiViewDenoiser, view_clean
from difflab.illusions.views import get_view
from difflab.paths import FlowPath, course_ddpm_path, deepfloyd_path
from difflab.sampling import NoiseSource
from test_views import Scale
from toy import PointDenoiser

CASES = [(deepfloyd_path(), "epsilon", 500), (course_ddpm_path(), "x0", 150), (FlowPath(), "velocity", 0.4),
         (FlowPath(), "epsilon", 0.0)]
TARGET = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def x0_of(model, x, t):
    times = torch.full((x.shape[0],), t, dtype=torch.long if model.path.kind == "discrete" else torch.float64)
    return model.path.to_x0(x, model(x, times, None).prediction, times, model.prediction_type)


def pred_of(model, x, t):
    times = torch.full((x.shape[0],), t, dtype=torch.long if model.path.kind == "discrete" else torch.float64)
    return model(x, times, None).prediction


@pytest.mark.parametrize("path,kind,t", CASES)
@pytest.mark.parametrize("name", ["rot90", "negate", "skew", "jigsaw"])
def test_one_view_is_the_exact_denoiser_of_the_viewed_data(path, kind, t, name):
    view = get_view(name)
    base = PointDenoiser(path, TARGET, prediction_type=kind)
    multi = MultiViewDenoiser(base, [view], [None])
    # the sample x0 must look like TARGET through the view: x0 = view⁻¹(TARGET), centred (negate: 1 − x)
    seen = PointDenoiser(path, view.inverse_view(TARGET - 0.5) + 0.5, prediction_type=kind)
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    if not (kind == "epsilon" and t == 0.0):  # ε at pure flow noise says nothing about the data
        assert torch.allclose(pred_of(multi, x, t), pred_of(seen, x, t), atol=1e-9)


@pytest.mark.parametrize("path,kind,t", CASES[:3])
def test_averaging_agrees_in_every_parameterisation(path, kind, t):
    views = [get_view("identity"), get_view("rot90"), get_view("negate")]
    multi = MultiViewDenoiser(PointDenoiser(path, TARGET, prediction_type=kind), views, [None] * 3)
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    expected = sum(v.inverse_view(TARGET - 0.5) + 0.5 for v in views) / 3
    assert torch.allclose(x0_of(multi, x, t), expected.expand(2, -1, -1, -1), atol=1e-9)


def test_one_batched_call_cfg_in_every_branch_and_variance_averaged():
    base = PointDenoiser(deepfloyd_path(), TARGET.float(), variance=0.3)
    guided = GuidedDenoiser(base, 7.0)
    views = [get_view("identity"), get_view("flip"), get_view("negate")]
    conds = [base.encode([1, 1]), base.encode([2, 2]), base.encode([3, 3])]
    multi = MultiViewDenoiser(guided, views, conds)
    x, t = torch.randn(2, 1, 8, 8), torch.full((2,), 400)
    base.calls = 0
    out = multi(x, t)
    assert base.calls == 1
    shift = deepfloyd_path().alpha(400).float() * 0.5  # views act on the centred image: x_t − α_t·½
    expected = sum(v.inverse_view(guided(v.view(x - shift) + shift, t, c).prediction) for v, c in zip(views, conds)) / 3
    assert torch.allclose(out.prediction, expected, atol=1e-5)
    assert torch.allclose(out.variance, torch.full_like(x, 0.3))  # negate moves variance, never flips it


def test_bad_inputs():
    base = PointDenoiser(FlowPath(), TARGET, prediction_type="velocity")
    with pytest.raises(UserError, match="statistics"):
        MultiViewDenoiser(base, [get_view("identity"), Scale()], [None, None])
    with pytest.raises(UserError, match="one prompt per view"):
        MultiViewDenoiser(base, [get_view("identity")], [None, None])
    with pytest.raises(ValueError):
        MultiViewDenoiser(base, [get_view("identity")], [None])(torch.zeros(1, 1, 8, 8), torch.zeros(1), TARGET)


@pytest.mark.parametrize("objective", ["ddpm", "flow"])
def test_anagram_on_a_course_model(objective):
    model = tiny_denoiser(objective)
    multi = MultiViewDenoiser(GuidedDenoiser(model, 5.0), [get_view("identity"), get_view("rot180")],
                              [model.encode([6]), model.encode([9])])
    out = sample(multi, model.path.grid(5), NoiseSource([0]))
    assert out.shape == (1, 1, 28, 28) and torch.isfinite(out).all()


def test_view_clean_shows_the_sample_through_a_view():
    x = torch.rand(1, 1, 8, 8)
    assert torch.allclose(view_clean(get_view("negate"), x, (0.0, 1.0)), 1 - x)
    assert torch.allclose(view_clean(get_view("negate"), x, (-1.0, 1.0)), -x)
    assert torch.equal(view_clean(get_view("flip"), x, (0.0, 1.0)), x.flip(-2))

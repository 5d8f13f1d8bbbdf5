import pytest
import torch

from difflab.errors import UserError
from difflab.paths import FlowPath, course_ddpm_path, deepfloyd_path, strided_timesteps
from difflab.sampling import DDIMRule, DDPMRule, EulerRule, NoiseSource, check_i_start, default_rule, sample_loop
from toy import PointDenoiser


def test_noise_source_is_per_image():
    a = NoiseSource([1, 2, 3]).randn((1, 4, 4))
    b = NoiseSource([2]).randn((1, 4, 4))
    assert torch.equal(a[1], b[0])
    assert not torch.equal(a[0], a[1])


@pytest.mark.parametrize("rule", [DDIMRule(), DDPMRule()])
def test_discrete_sampling_reaches_the_data_point(rule):
    target = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    model = PointDenoiser(course_ddpm_path(), target)
    ts = strided_timesteps(300, 30)
    x = NoiseSource([0, 1]).randn((1, 4, 4), dtype=torch.float64)
    out = sample_loop(model, x, ts, rule=rule, noise=NoiseSource([5, 6]))
    # DDIM lands exactly on the point; DDPM too, since ᾱ_0 = 1 on the course path and x̂0 is exact.
    assert torch.allclose(out, target.expand(2, 1, 4, 4), atol=1e-9)


def test_flow_euler_reaches_the_data_point_and_counts_steps():
    target = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    model = PointDenoiser(FlowPath(), target, prediction_type="velocity")
    x = NoiseSource([0]).randn((1, 4, 4), dtype=torch.float64)
    out = sample_loop(model, x, FlowPath().grid(7), rule=EulerRule())
    assert torch.allclose(out, target, atol=1e-9)
    assert model.calls == 7


def test_start_index_and_hook():
    model = PointDenoiser(deepfloyd_path(), torch.zeros(1, 1, 2, 2, dtype=torch.float64))
    ts = strided_timesteps()
    seen = []
    x = torch.randn(1, 1, 2, 2, dtype=torch.float64)
    sample_loop(model, x, ts, rule=DDIMRule(), start=10, hook=lambda s: seen.append((s.t, s.t_next)))
    assert seen[0] == (690, 660) and seen[-1] == (30, 0) and len(seen) == 23  # spec §2.6: 23 updates
    with pytest.raises(ValueError):
        sample_loop(model, x, ts, start=33)


def test_rules_refuse_wrong_path():
    model = PointDenoiser(FlowPath(), torch.zeros(1, 1, 2, 2), prediction_type="velocity")
    with pytest.raises(ValueError, match="DDPM update needs a discrete"):
        sample_loop(model, torch.randn(1, 1, 2, 2), FlowPath().grid(2), rule=DDPMRule())
    with pytest.raises(ValueError, match="Euler update needs a flow path"):
        EulerRule().check(deepfloyd_path())
    for path in (deepfloyd_path(), FlowPath()):
        DDIMRule().check(path)  # DDIM runs on any Gaussian path


def test_default_rule_is_the_courses_own():
    assert isinstance(default_rule(course_ddpm_path()), DDPMRule)
    assert isinstance(default_rule(FlowPath()), EulerRule)


def test_i_start_must_leave_a_step():
    grid = deepfloyd_path().grid()
    assert check_i_start(0, grid) == 0 and check_i_start(32, grid) == 32
    for bad in (-1, 33, 1.5, True, "3"):
        with pytest.raises(UserError):
            check_i_start(bad, grid)


def test_seed_gives_same_image_whatever_the_batch():
    target = torch.rand(1, 1, 4, 4)
    model = PointDenoiser(deepfloyd_path(), target, variance=0.0)
    ts = strided_timesteps(990, 90)

    def run(seeds):
        noise = NoiseSource(seeds)
        return sample_loop(model, noise.randn((1, 4, 4)), ts, rule=DDPMRule(), noise=noise)

    alone, batch = run([7]), run([3, 7, 11])
    assert torch.allclose(alone[0], batch[1], atol=1e-6)

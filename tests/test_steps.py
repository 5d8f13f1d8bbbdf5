import math

import pytest
import torch

from difflab.paths import FlowPath, deepfloyd_path, strided_timesteps
from difflab.steps import (ddim_step, ddpm_log_variance, ddpm_posterior_mean, ddpm_step, euler_step,
                           heun_step)


def test_posterior_mean_closed_form_single_step():
    # With a stride of one, A.3 is DDPM eq. 7 with α_t = 1 − β_t.
    abar_prev, beta = torch.tensor(0.9, dtype=torch.float64), torch.tensor(0.02, dtype=torch.float64)
    abar_t = abar_prev * (1 - beta)
    x_t, x0 = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    expected = (abar_prev.sqrt() * beta / (1 - abar_t)) * x0 + ((1 - beta).sqrt() * (1 - abar_prev) / (1 - abar_t)) * x_t
    assert torch.allclose(ddpm_posterior_mean(x_t, x0, abar_t, abar_prev), expected)


def test_posterior_mean_is_exact_for_consistent_estimate():
    # If x̂0 is the true x0 and x_t, x_{t'} share one noise path, the mean interpolates the clean image.
    path = deepfloyd_path()
    x0 = torch.randn(3, 3, 4, 4, dtype=torch.float64)
    abar_t, abar_prev = path.abar(690), path.abar(660)
    mean = ddpm_posterior_mean(path.add_noise(x0, torch.zeros_like(x0), 690), x0, abar_t, abar_prev)
    assert torch.allclose(mean, abar_prev.sqrt() * x0)


def test_log_variance_kinds():
    path = deepfloyd_path()
    abar_t, abar_prev = path.abar(300), path.abar(270)
    beta = 1 - abar_t / abar_prev
    posterior = (1 - abar_prev) / (1 - abar_t) * beta
    assert torch.allclose(ddpm_log_variance(abar_t, abar_prev, "beta"), beta.log())
    assert torch.allclose(ddpm_log_variance(abar_t, abar_prev, "posterior"), posterior.log())
    ones, minus = torch.ones(2), -torch.ones(2)
    assert torch.allclose(ddpm_log_variance(abar_t, abar_prev, "learned", ones), beta.log().float())
    assert torch.allclose(ddpm_log_variance(abar_t, abar_prev, "learned", minus), posterior.log().float())
    with pytest.raises(ValueError):
        ddpm_log_variance(abar_t, abar_prev, "learned")


def _if_scheduler():
    diffusers = pytest.importorskip("diffusers")
    # DeepFloyd IF stage I's scheduler config (spec §2.1), clipping/thresholding off: they belong to
    # diffusers' own pipeline, not to the update rule (difflab applies neither, as the course does).
    return diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                                   prediction_type="epsilon", variance_type="learned_range",
                                   clip_sample=False, thresholding=False)


def test_ddpm_step_learned_range_equals_diffusers_strided():
    sched = _if_scheduler()
    timesteps = strided_timesteps(990, 30)
    sched.set_timesteps(timesteps=timesteps)
    path = deepfloyd_path()
    torch.manual_seed(0)
    for i in (0, 10, 20, len(timesteps) - 2):
        t, t_prev = timesteps[i], timesteps[i + 1]
        sample = torch.randn(2, 3, 8, 8)
        model_output = torch.randn(2, 6, 8, 8)
        model_output[:, 3:] = torch.rand(2, 3, 8, 8) * 2 - 1
        expected = sched.step(model_output, t, sample, generator=torch.Generator().manual_seed(i)).prev_sample
        noise = torch.randn(sample.shape, generator=torch.Generator().manual_seed(i))
        eps, v = model_output[:, :3], model_output[:, 3:]
        abar_t, abar_prev = path.abar(t).float(), path.abar(t_prev).float()
        x0_hat = (sample - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()
        ours = ddpm_step(sample, x0_hat, abar_t, abar_prev, noise, ddpm_log_variance(abar_t, abar_prev, "learned", v))
        assert torch.allclose(ours, expected, atol=2e-5), (t, (ours - expected).abs().max())


def test_ddpm_step_fixed_variance_equals_diffusers_fixed_large():
    diffusers = pytest.importorskip("diffusers")
    sched = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                                    variance_type="fixed_large", clip_sample=False)
    timesteps = strided_timesteps(990, 30)
    sched.set_timesteps(timesteps=timesteps)
    path = deepfloyd_path()
    t, t_prev = 600, 570
    sample, eps = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)
    expected = sched.step(eps, t, sample, generator=torch.Generator().manual_seed(3)).prev_sample
    noise = torch.randn(sample.shape, generator=torch.Generator().manual_seed(3))
    abar_t, abar_prev = path.abar(t).float(), path.abar(t_prev).float()
    x0_hat = path.to_x0(sample, eps, t, "epsilon")
    ours = ddpm_step(sample, x0_hat, abar_t, abar_prev, noise, ddpm_log_variance(abar_t, abar_prev, "beta"))
    assert torch.allclose(ours, expected, atol=2e-5)


def test_ddim_on_flow_path_equals_euler():
    path = FlowPath()
    x0, eps = torch.randn(2, 1, 4, 4, dtype=torch.float64), torch.randn(2, 1, 4, 4, dtype=torch.float64)
    t, t_next = 0.3, 0.55
    x_t = path.add_noise(x0, eps, t)
    euler = euler_step(x_t, x0 - eps, t_next - t)
    ddim = ddim_step(x0, eps, path.alpha(t_next), path.sigma(t_next))
    assert torch.allclose(euler, ddim)
    assert torch.allclose(ddim, path.add_noise(x0, eps, t_next))


def _integrate(step, lam: float, steps: int) -> float:
    """Integrate dx/dt = λx from x(0) = 1 to t = 1 in `steps` equal steps; the exact answer is e^λ."""
    x, dt = torch.tensor([1.0], dtype=torch.float64), 1.0 / steps
    for _ in range(steps):
        x = step(x, dt)
    return abs(x.item() - math.exp(lam))


def test_euler_is_first_order_and_heun_second_order_on_a_linear_ode():
    lam = -1.5
    euler = lambda x, dt: euler_step(x, lam * x, dt)  # noqa: E731
    heun = lambda x, dt: heun_step(x, lam * x, lam * euler_step(x, lam * x, dt), dt)  # noqa: E731
    for step, order in ((euler, 1), (heun, 2)):
        errors = [_integrate(step, lam, n) for n in (16, 32, 64)]
        ratios = [errors[i] / errors[i + 1] for i in range(2)]  # halving dt divides the error by 2^order
        assert all(abs(r - 2 ** order) < 0.15 * 2 ** order for r in ratios), (order, ratios)


def test_ddim_inverts_with_exact_predictions():
    # η = 0 and exact (x̂0, ε̂): stepping down then back up returns the start.
    path = deepfloyd_path()
    x0, eps = torch.randn(1, 3, 4, 4, dtype=torch.float64), torch.randn(1, 3, 4, 4, dtype=torch.float64)
    x_700 = path.add_noise(x0, eps, 700)
    x_400 = ddim_step(x0, eps, path.alpha(400), path.sigma(400))
    back = ddim_step(x0, eps, path.alpha(700), path.sigma(700))
    assert torch.allclose(back, x_700) and torch.allclose(x_400, path.add_noise(x0, eps, 400))

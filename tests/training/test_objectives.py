"""The Part B objectives as maths: exact predictors give zero loss, inputs are the spec's x_t."""

import torch
from torch.nn import functional as F

from difflab.paths import FlowPath, course_ddpm_path
from difflab.training.objectives import class_condition, ddpm_loss, denoise_loss, flow_loss, pure_noise_loss


def point_batch(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    point = torch.rand(1, 1, 28, 28, generator=g, dtype=torch.float64)
    return point, point.expand(n, 1, 28, 28), torch.randn(n, 1, 28, 28, generator=g, dtype=torch.float64)


class Recorder(torch.nn.Module):
    """Returns `fn(x, t, c)` and remembers what it was called with."""

    def __init__(self, fn):
        super().__init__()
        self.fn, self.calls = fn, []

    def forward(self, x, t=None, c=None):
        self.calls.append((x, t, c))
        return self.fn(x, t, c)


def test_flow_loss_is_zero_for_the_exact_velocity_on_a_one_point_dataset():
    point, data, noise = point_batch()
    t = torch.tensor([0.0, 0.1, 0.25, 0.5, 0.9, 0.99], dtype=torch.float64)
    exact = Recorder(lambda x_t, t, c: (point - x_t) / (1 - t).reshape(-1, 1, 1, 1))  # u = data − noise given x_t
    assert flow_loss(exact, FlowPath(), data, noise, t) < 1e-20
    x_t, seen_t, _ = exact.calls[0]
    assert torch.equal(x_t, FlowPath().add_noise(data, noise, t)) and torch.equal(seen_t, t)
    assert torch.allclose(x_t[0], noise[0]) and torch.allclose(x_t[5], 0.99 * data[5] + 0.01 * noise[5])


def test_flow_loss_target_is_data_minus_noise_and_passes_the_class():
    _, data, noise = point_batch()
    zero = Recorder(lambda x, t, c: torch.zeros_like(x))
    c = torch.eye(10, dtype=torch.float64)[:6]
    loss = flow_loss(zero, FlowPath(), data, noise, torch.full((6,), 0.3, dtype=torch.float64), c)
    assert torch.allclose(loss, ((data - noise) ** 2).mean())
    assert zero.calls[0][2] is c


def test_flow_loss_is_bit_identical_to_the_courses_interpolation_in_float32():
    """The loss the shipped models were trained with: x_t = (1 − t)·x0 + t·x1, x0 noise, x1 data (spec B.3)."""
    g = torch.Generator().manual_seed(3)
    data, noise = torch.rand(64, 1, 28, 28, generator=g), torch.randn(64, 1, 28, 28, generator=g)
    t = torch.rand(64, generator=g)  # as the training loop draws it
    t[:3] = torch.tensor([0.0, 1.0, 1e-30])
    net = Recorder(lambda x, t, c: x * 0.5 + t.reshape(-1, 1, 1, 1))
    loss = flow_loss(net, FlowPath(), data, noise, t)
    tb = t.reshape(-1, 1, 1, 1)
    course_x_t = (1 - tb) * noise + tb * data
    assert torch.equal(net.calls[0][0], course_x_t)
    assert torch.equal(loss, F.mse_loss(course_x_t * 0.5 + tb, data - noise))


def test_ddpm_loss_feeds_add_noise_and_t_over_T_and_is_zero_for_the_exact_noise():
    path = course_ddpm_path()
    point, x0, eps = point_batch()
    t_index = torch.tensor([1, 2, 50, 150, 299, 300])

    def exact_eps(x_t, t, c):
        index = torch.round(t * 300).long()
        a, s = path.alpha(index).reshape(-1, 1, 1, 1), path.sigma(index).reshape(-1, 1, 1, 1)
        return (x_t - a * point) / s

    net = Recorder(exact_eps)
    assert ddpm_loss(net, path, x0, t_index, eps) < 1e-20
    x_t, t, c = net.calls[0]
    assert torch.equal(x_t, path.add_noise(x0, eps, t_index))
    assert torch.allclose(t, t_index.float() / 300) and t.dtype == torch.float32 and c is None


def test_ddpm_first_step_is_nearly_clean_and_last_nearly_noise():
    path = course_ddpm_path()
    _, x0, eps = point_batch(2)
    net = Recorder(lambda x, t, c: torch.zeros_like(x))
    ddpm_loss(net, path, x0, torch.tensor([1, 300]), eps)
    x_t = net.calls[0][0]
    assert (x_t[0] - x0[0]).abs().max() < 0.05            # √(1 − ᾱ_1) = 0.01
    assert abs(path.abar(300).item() - 0.048) < 1e-3       # spec §3.6: ᾱ_T ≈ 0.048


def test_denoise_and_pure_noise_losses():
    _, x, eps = point_batch()
    identity = Recorder(lambda z, t, c: z)
    assert torch.allclose(denoise_loss(identity, x, eps, 0.5), ((0.5 * eps) ** 2).mean())
    assert torch.equal(identity.calls[0][0], x + 0.5 * eps) and identity.calls[0][1] is None
    mean_net = Recorder(lambda z, t, c: torch.zeros_like(z) + x.mean(0))
    assert pure_noise_loss(mean_net, x, eps) < 1e-20   # one point: the mean is exact
    assert torch.equal(mean_net.calls[0][0], eps)      # the net sees pure noise only
    assert torch.allclose(denoise_loss(identity, x, eps, 0.0), torch.zeros((), dtype=torch.float64))
    assert F.mse_loss(x, x) == 0


def test_class_dropout_rate_and_rows():
    labels = torch.arange(20000) % 10
    c = class_condition(labels, 10, 0.1, torch.Generator().manual_seed(0))
    kept = c.sum(1)
    assert set(kept.unique().tolist()) <= {0.0, 1.0}
    assert abs((kept == 0).float().mean().item() - 0.1) < 0.01          # per-sample p_uncond (spec B.3)
    assert torch.equal(c[kept == 1].argmax(1), labels[kept == 1])       # kept rows are the one-hot label
    again = class_condition(labels, 10, 0.1, torch.Generator().manual_seed(0))
    assert torch.equal(c, again)                                        # the mask comes from the generator
    assert torch.equal(class_condition(labels[:5], 10, 0.0, torch.Generator()).argmax(1), labels[:5])

"""Part B single-step figures as tensors."""

import torch

from difflab.training.partb import SIGMAS, denoise_panel, noising_grid, ood_sweep, pure_noise_vs_mean


class Shift(torch.nn.Module):
    def __init__(self, value=None):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))
        self.value = value

    def forward(self, z):
        return z if self.value is None else torch.zeros_like(z) + self.value


def test_noising_grid_rows_share_their_noise():
    x = torch.rand(5, 1, 28, 28)
    grid = noising_grid(x, SIGMAS, seed=3).reshape(5, len(SIGMAS), 1, 28, 28)
    assert torch.equal(grid[:, 0], x)                                  # σ = 0 is the clean digit
    eps = (grid[:, -1] - x) / 1.0
    assert torch.allclose(grid[:, 2], x + 0.4 * eps, atol=1e-6)        # same ε in every column
    assert not torch.allclose(eps[0], eps[1])                          # each digit its own ε


def test_panel_and_sweep_layouts():
    x = torch.rand(3, 1, 28, 28)
    panel = denoise_panel(Shift(), x, 0.5).reshape(3, 3, 1, 28, 28)
    assert torch.equal(panel[:, 0], x) and torch.equal(panel[:, 1], panel[:, 2])  # identity net
    sweep = ood_sweep(Shift(0.25), x[0])
    assert sweep.shape == (14, 1, 28, 28) and torch.all(sweep[7:] == 0.25)


def test_pure_noise_vs_mean_distance():
    train = torch.rand(50, 1, 28, 28)
    exact = pure_noise_vs_mean(Shift(train.mean(0)), train, n=4)
    assert exact.output_to_mean < 1e-6 and exact.output_spread < 1e-6 and exact.digit_to_mean > 0.2
    assert pure_noise_vs_mean(Shift(), train, n=4).output_to_mean > 0.5

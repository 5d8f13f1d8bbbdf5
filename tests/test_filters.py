import pytest
import torch

from difflab.filters import best_blur, gaussian_blur, gaussian_kernel1d, highpass, lowpass, psnr, scaled_blur


def test_kernel_is_normalised_symmetric_gaussian():
    k = gaussian_kernel1d(33, 2.0, torch.float64)
    offsets = torch.arange(-16, 17, dtype=torch.float64)
    assert torch.isclose((k * offsets ** 2).sum(), torch.tensor(4.0, dtype=torch.float64))  # variance σ² = 4
    assert torch.equal(k, k.flip(0)) and k.argmax() == 16
    assert torch.isclose(k[17] / k[16], torch.exp(torch.tensor(-1 / 8, dtype=torch.float64)))
    with pytest.raises(ValueError):
        gaussian_kernel1d(4, 1.0)


def test_low_plus_high_is_identity_and_constants_are_low():
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    assert torch.allclose(lowpass(x, 33, 2.0) + highpass(x, 33, 2.0), x)
    const = torch.full((1, 1, 28, 28), 0.7, dtype=torch.float64)
    assert torch.allclose(gaussian_blur(const, 15, 0.875), const)
    assert highpass(const, 15, 0.875).abs().max() < 1e-12


def test_blur_is_separable_2d_gaussian():
    x = torch.zeros(1, 1, 21, 21, dtype=torch.float64)
    x[..., 10, 10] = 1
    k = gaussian_kernel1d(5, 1.0, torch.float64)
    assert torch.allclose(gaussian_blur(x, 5, 1.0)[0, 0, 8:13, 8:13], torch.outer(k, k))


def test_scaling_with_resolution():
    assert scaled_blur(64) == (33, 2.0)
    assert scaled_blur(256) == (133, 8.0)
    assert scaled_blur(28) == (15, 0.875)


def test_best_blur_beats_fixed_choices():
    g = torch.Generator().manual_seed(0)
    clean = gaussian_blur(torch.rand(1, 1, 28, 28, generator=g), 9, 2.0)
    noisy = clean + 0.3 * torch.randn(1, 1, 28, 28, generator=g)
    best = best_blur(noisy, clean, (0.0, 1.0))
    for k, s in ((3, 0.5), (5, 1.0), (9, 3.0)):
        assert best.psnr >= psnr(gaussian_blur(noisy, k, s), clean, (0.0, 1.0)).item() - 1e-9
    assert best.psnr > psnr(noisy, clean, (0.0, 1.0)).item()

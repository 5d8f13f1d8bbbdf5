import math

import pytest
import torch

from difflab.errors import UserError
from difflab.paths import (FlowPath, course_ddpm_path, cosine_alphas_cumprod, deepfloyd_path,
                           linear_alphas_cumprod, strided_timesteps)

# spec §2.1 reference table: t → ᾱ_t
SPEC_ABAR = {0: 0.99996, 90: 0.97654, 240: 0.85698, 250: 0.84589, 390: 0.66082, 500: 0.49229,
             540: 0.43017, 690: 0.21452, 750: 0.14318, 990: 0.000197}


def test_cosine_schedule_matches_spec_table():
    abar = cosine_alphas_cumprod(1000)
    for t, expected in SPEC_ABAR.items():
        assert abar[t].item() == pytest.approx(expected, abs=6e-6, rel=1e-4), t


def test_cosine_schedule_equals_diffusers_squaredcos_cap_v2():
    diffusers = pytest.importorskip("diffusers")
    sched = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    ours = cosine_alphas_cumprod(1000)
    assert torch.allclose(ours.float(), sched.alphas_cumprod, atol=1e-6)


def test_alphas_cumprod_monotone_in_unit_interval():
    for abar in (cosine_alphas_cumprod(1000), linear_alphas_cumprod(300)):
        assert (abar[1:] < abar[:-1]).all()
        assert (abar > 0).all() and (abar <= 1).all()


def test_linear_schedule_course_values():
    abar = linear_alphas_cumprod(300)
    assert len(abar) == 301 and abar[0] == 1.0
    assert abar[1].item() == pytest.approx(1 - 1e-4)
    assert abar[300].item() == pytest.approx(0.048, abs=1e-3)  # spec §3.6: ≈ 0.048 at the end
    betas = torch.linspace(1e-4, 0.02, 300, dtype=torch.float64)
    assert abar[150].item() == pytest.approx(torch.prod(1 - betas[:150]).item(), rel=1e-12)


def test_strided_timesteps():
    ts = strided_timesteps()
    assert ts[0] == 990 and ts[-1] == 0 and len(ts) == 34
    assert [ts[i] for i in (1, 3, 5, 7, 10, 20)] == [960, 900, 840, 780, 690, 390]
    assert [ts[i] for i in (10, 15, 20, 25, 30)] == [690, 540, 390, 240, 90]
    assert strided_timesteps(300, 1) == list(range(300, -1, -1))
    with pytest.raises(ValueError):
        strided_timesteps(990, 7)


def test_forward_process_is_scaled_not_just_added():
    path = deepfloyd_path()
    x0, eps = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)
    x_t = path.add_noise(x0, eps, 500)
    a, s = math.sqrt(0.49229), math.sqrt(1 - 0.49229)
    assert torch.allclose(x_t, a * x0 + s * eps, atol=1e-4)
    assert torch.allclose(path.add_noise(x0, eps, 0), x0, atol=0.03)  # t = 0 ≈ identity (σ_0 = 0.0064)


def test_flow_path_endpoints():
    path = FlowPath()
    x0, eps = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    assert torch.equal(path.add_noise(x0, eps, 0.0), eps)
    assert torch.equal(path.add_noise(x0, eps, 1.0), x0)


@pytest.mark.parametrize("path,t", [(deepfloyd_path(), torch.tensor([250, 700])),
                                    (course_ddpm_path(), torch.tensor([3, 299])),
                                    (FlowPath(), torch.tensor([0.2, 0.9]))])
def test_prediction_conversions_round_trip(path, t):
    x0, eps = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(2, 3, 4, 4, dtype=torch.float64)
    x_t = path.add_noise(x0, eps, t)
    assert torch.allclose(path.to_x0(x_t, eps, t, "epsilon"), x0)
    assert torch.allclose(path.to_eps(x_t, x0, t, "x0"), eps)
    if path.kind == "flow":
        v = x0 - eps  # spec eq. B.4: the target flow x1 − x0 (data − noise)
        assert torch.allclose(path.to_velocity(x_t, eps, t, "epsilon"), v)
        assert torch.allclose(path.to_x0(x_t, v, t, "velocity"), x0)
        assert torch.allclose(path.to_eps(x_t, v, t, "velocity"), eps)
    else:
        with pytest.raises(ValueError):
            path.to_x0(x_t, eps, t, "velocity")


def test_discrete_path_clean_end_and_range():
    path = course_ddpm_path()
    assert path.abar(-1).item() == 1.0 and path.abar(0).item() == 1.0
    with pytest.raises(ValueError):
        path.abar(301)
    assert path.model_time(torch.tensor([150])).item() == pytest.approx(0.5)


# -- the path knows its time ----------------------------------------------------------------------

PATHS = {"if": deepfloyd_path(), "ddpm": course_ddpm_path(), "flow": FlowPath()}


def test_if_grid_is_the_course_list():
    grid = deepfloyd_path().grid()
    assert grid == strided_timesteps(990, 30) and len(grid) == 34
    assert [grid[i] for i in (1, 3, 5, 7, 10, 20)] == [960, 900, 840, 780, 690, 390]  # spec §2.6
    assert deepfloyd_path().grid(30)[:2] == [990, 957] and len(deepfloyd_path().grid(30)) == 31  # stage II's 30


def test_course_grids():
    ddpm = course_ddpm_path()
    assert ddpm.grid() == strided_timesteps(297, 9)
    assert ddpm.grid(300) == list(range(300, -1, -1))  # Algorithm B.2's full chain
    assert ddpm.grid(10) == strided_timesteps(300, 30)
    assert FlowPath().grid(4) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len(FlowPath().grid()) == 34


@pytest.mark.parametrize("name", PATHS)
@pytest.mark.parametrize("steps", [1, 7, 33, 50])
def test_every_grid_runs_from_the_noisiest_end_to_clean_with_uniform_strides(name, steps):
    path = PATHS[name]
    grid = path.grid(steps)
    assert len(grid) == steps + 1 and grid[-1] == path.clean
    assert all(path.is_noisier(a, b) for a, b in zip(grid, grid[1:]))
    assert len({round(a - b, 9) for a, b in zip(grid, grid[1:])}) == 1
    assert not path.is_noisier(path.noisiest, path.noisiest)
    assert grid[0] == path.noisiest or path.is_noisier(path.noisiest, grid[0])
    assert float(path.sigma(path.noisiest)) > 0.95 and float(path.alpha(path.clean)) > 0.99


@pytest.mark.parametrize("name", PATHS)
def test_bad_step_counts_are_user_errors(name):
    for bad in (0, -3, 2.5, True, "33"):
        with pytest.raises(UserError):
            PATHS[name].grid(bad)


def test_more_steps_than_timesteps_is_a_user_error():
    with pytest.raises(UserError):
        course_ddpm_path().grid(301)
    assert len(deepfloyd_path().grid(999)) == 1000


def test_same_index_similar_signal_to_noise():
    snr = []
    for path in PATHS.values():
        t = path.grid()[10]
        snr.append(float(path.alpha(t) / path.sigma(t)))
    assert max(snr) / min(snr) < 1.3


def test_parse_time_in_the_paths_own_units():
    assert deepfloyd_path().parse_time("250") == 250
    assert FlowPath().parse_time("0.25") == 0.25
    for path, bad in ((deepfloyd_path(), "1000"), (deepfloyd_path(), "0"), (deepfloyd_path(), "x"),
                      (FlowPath(), "1"), (FlowPath(), "-0.1"), (FlowPath(), "x")):
        with pytest.raises(UserError):
            path.parse_time(bad)


def test_continue_grid_and_noise_fractions():
    path, grid = deepfloyd_path(), deepfloyd_path().grid()
    assert path.continue_grid(690, grid) == grid[10:]
    assert path.continue_grid(500, grid)[:3] == [500, 480, 450]
    assert FlowPath().continue_grid(0.5, FlowPath().grid(4)) == [0.5, 0.75, 1.0]
    assert [path.time_at_noise(f) for f in (0.25, 0.5, 0.75)] == [250, 500, 750]
    assert path.time_at_noise(1.0) == path.noisiest and path.time_at_noise(0.0) == 1
    assert FlowPath().time_at_noise(0.25) == 0.75 and FlowPath().time_at_noise(1.0) == FlowPath().noisiest


@pytest.mark.parametrize("name", PATHS)
def test_time_at_noise_moves_toward_the_noisy_end(name):
    path = PATHS[name]
    times = [path.time_at_noise(f) for f in (0.1, 0.4, 0.7)]
    assert all(path.is_noisier(b, a) for a, b in zip(times, times[1:]))


def test_time_batch_has_the_paths_time_dtype():
    discrete = course_ddpm_path().time_batch(297, 3)
    assert discrete.dtype == torch.long and discrete.tolist() == [297] * 3
    flow = FlowPath().time_batch(0.25, 2)
    assert flow.dtype == torch.float32 and flow.tolist() == [0.25, 0.25]
    assert FlowPath().time_batch(0.5, 1, device="cpu").device.type == "cpu"
    ddpm, x = course_ddpm_path(), torch.randn(3, 1, 2, 2)
    assert torch.equal(ddpm.add_noise(x, x, ddpm.time_batch(100, 3)), ddpm.add_noise(x, x, 100))

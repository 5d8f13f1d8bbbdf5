import pytest

from difflab.errors import UserError
from difflab.paths import FlowPath, course_ddpm_path, deepfloyd_path, flow_timesteps, strided_timesteps
from difflab.timesteps import check_i_start, continue_grid, default_grid, parse_time, time_at_noise


def test_if_grid_is_the_course_list():
    grid = default_grid(deepfloyd_path())
    assert grid == strided_timesteps(990, 30) and len(grid) == 34
    assert [grid[i] for i in (1, 3, 5, 7, 10, 20)] == [960, 900, 840, 780, 690, 390]  # spec §2.6


def test_course_grids():
    ddpm = course_ddpm_path()
    assert default_grid(ddpm) == strided_timesteps(297, 9)
    assert default_grid(ddpm, 300) == list(range(300, -1, -1))  # Algorithm B.2's full chain
    assert default_grid(ddpm, 10) == strided_timesteps(300, 30)
    assert default_grid(FlowPath(), 33) == flow_timesteps(33)
    with pytest.raises(UserError):
        default_grid(ddpm, 301)


def test_same_index_similar_signal_to_noise():
    snr = []
    for path in (deepfloyd_path(), course_ddpm_path(), FlowPath()):
        t = default_grid(path)[10]
        snr.append(float(path.alpha(t) / path.sigma(t)))
    assert max(snr) / min(snr) < 1.3


def test_i_start_and_time_validation():
    grid = default_grid(deepfloyd_path())
    assert check_i_start(32, grid) == 32
    for bad in (-1, 33, 1.5, True):
        with pytest.raises(UserError):
            check_i_start(bad, grid)
    assert parse_time(deepfloyd_path(), "250") == 250
    assert parse_time(FlowPath(), "0.25") == 0.25
    for path, bad in ((deepfloyd_path(), "1000"), (deepfloyd_path(), "0"), (deepfloyd_path(), "x"),
                      (FlowPath(), "1"), (FlowPath(), "-0.1")):
        with pytest.raises(UserError):
            parse_time(path, bad)


def test_continue_grid_and_noise_fractions():
    grid = default_grid(deepfloyd_path())
    assert continue_grid(deepfloyd_path(), 690, grid) == grid[10:]
    assert continue_grid(deepfloyd_path(), 500, grid)[:3] == [500, 480, 450]
    assert continue_grid(FlowPath(), 0.5, flow_timesteps(4)) == [0.5, 0.75, 1.0]
    assert [time_at_noise(deepfloyd_path(), f) for f in (0.25, 0.5, 0.75)] == [250, 500, 750]
    assert time_at_noise(FlowPath(), 0.25) == 0.75

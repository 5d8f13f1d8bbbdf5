"""Solvers: the course's rules unchanged in output, every solver on every path and prediction type,
Heun and DPM-Solver++ at their order on a closed-form ODE, DDIM η = 1 as ancestral DDPM."""

import pytest
import torch

from difflab.editing import inpaint, sdedit
from difflab.paths import FlowPath, _broadcast, course_ddpm_path, deepfloyd_path, strided_timesteps
from difflab.sampling import NoiseSource, sample_loop
from difflab.solvers import DDIM, DDPM, SOLVERS, DPMSolverPP2M, Euler, Heun, make_solver
from difflab.steps import ddim_step, ddpm_log_variance, ddpm_step, euler_step
from toy import GaussianDenoiser, PointDenoiser, TinyNet


def course_loop(model, x, grid, cond, kind, noise=None):
    """The loop and rules as they were before solvers, written out from the pure step functions."""
    path = model.path
    for t_value, t_next in zip(grid[:-1], grid[1:]):
        dtype = torch.float32 if kind == "euler" else torch.long
        t = torch.full((x.shape[0],), t_value, dtype=dtype)
        out = model(x, t, cond)
        x0 = path.to_x0(x, out.prediction, t, model.prediction_type)
        if kind == "euler":
            x = euler_step(x, path.to_velocity(x, out.prediction, t, model.prediction_type), _broadcast(t_next - t, x))
            continue
        t_next_batch = torch.full_like(t, int(t_next))
        if kind == "ddim":
            eps = path.to_eps(x, out.prediction, t, model.prediction_type)
            x = ddim_step(x0, eps, _broadcast(path.alpha(t_next_batch), x), _broadcast(path.sigma(t_next_batch), x))
            continue
        abar_t, abar_prev = _broadcast(path.abar(t), x), _broadcast(path.abar(t_next_batch), x)
        if bool((abar_prev == 1).all()):
            x = ddpm_step(x, x0, abar_t, abar_prev, None, None)
        else:
            log_var = ddpm_log_variance(abar_t, abar_prev, "learned" if out.variance is not None else "beta",
                                        out.variance)
            x = ddpm_step(x, x0, abar_t, abar_prev, noise.like(x), log_var)
    return x


@pytest.mark.parametrize("kind, path, grid, variance", [
    ("ddpm", course_ddpm_path(), strided_timesteps(300, 30), False),
    ("ddpm", deepfloyd_path(), strided_timesteps(990, 90), True),
    ("ddim", deepfloyd_path(), strided_timesteps(990, 90), False),
    ("euler", FlowPath(), FlowPath().grid(9), False)])
def test_course_rules_are_bit_identical_as_solvers(kind, path, grid, variance):
    model = TinyNet(path, prediction_type="velocity" if kind == "euler" else "epsilon", variance=variance)
    cond = model.encode([3, None])
    x = NoiseSource([1, 2]).randn(model.image_shape)
    expected = course_loop(model, x, grid, cond, kind, NoiseSource([5, 6]))
    got = sample_loop(model, x, grid, cond, solver=SOLVERS[kind](), noise=NoiseSource([5, 6]))
    assert torch.equal(got, expected)
    assert not torch.equal(got, x)


PATHS = [(course_ddpm_path(), strided_timesteps(300, 30), ("epsilon", "x0")),
         (deepfloyd_path(), strided_timesteps(990, 90) + [-1], ("epsilon", "x0")),  # −1: ᾱ = 1, the clean end
         (FlowPath(), FlowPath().grid(8), ("x0", "velocity"))]  # ε at pure noise (α = 0) says nothing of x0


@pytest.mark.parametrize("name", list(SOLVERS))
@pytest.mark.parametrize("path, grid, predictions", PATHS)
def test_every_solver_lands_on_a_data_point_from_any_prediction(name, path, grid, predictions):
    solver = make_solver(name)
    if name not in path.solvers:
        with pytest.raises(ValueError):
            solver.check(path)
        return
    target = torch.rand(1, 1, 3, 3, dtype=torch.float64)
    for prediction in predictions:
        model = PointDenoiser(path, target, prediction_type=prediction)
        x = NoiseSource([0, 1]).randn((1, 3, 3), dtype=torch.float64)
        out = sample_loop(model, x, grid, solver=solver, noise=NoiseSource([2, 3]))
        assert torch.allclose(out, target.expand_as(out), atol=1e-9), (name, prediction)
        assert model.calls == solver.nfe(len(grid) - 1)


def ode_errors(solver, path, grids, model, x):
    """Max error at the clean end against the exact ODE solution, one per grid."""
    errors = []
    for grid in grids:
        exact = model.ode_solution(x, grid[0], grid[-1])
        errors.append((sample_loop(model, x, grid, solver=solver) - exact).abs().max().item())
    return errors


def orders(errors):
    """Observed convergence order between successive grids that halve the step."""
    return [torch.log2(torch.tensor(a / b)).item() for a, b in zip(errors, errors[1:])]


@pytest.mark.parametrize("path, grids, prediction", [
    (FlowPath(), [FlowPath().grid(n) for n in (8, 16, 32, 64)], "velocity"),
    # On the linear schedule σ/α ∝ √t near t = 0, so a grid uniform in t ends with a last (Euler) step whose
    # size in σ/α shrinks only like √stride; stopping at t = 60 measures the method, not that corner.
    (course_ddpm_path(), [strided_timesteps(300, stride, 60) for stride in (16, 8, 4, 2)], "epsilon")])
def test_heun_is_second_order_and_euler_first_on_a_gaussian_ode(path, grids, prediction):
    mean = torch.full((1, 1, 2, 2), 0.4, dtype=torch.float64)
    model = GaussianDenoiser(path, mean, std=0.3, prediction_type=prediction)
    x = NoiseSource([4]).randn((1, 2, 2), dtype=torch.float64)
    euler, heun = ode_errors(Euler(), path, grids, model, x), ode_errors(Heun(), path, grids, model, x)
    assert all(0.8 < p < 1.3 for p in orders(euler)), euler
    assert all(1.7 < p < 2.5 for p in orders(heun)), heun
    assert heun[-1] < euler[-1] / 10


def test_dpm_solver_pp_2m_is_second_order_on_a_gaussian_ode():
    path = course_ddpm_path()
    model = GaussianDenoiser(path, torch.full((1, 1, 2, 2), -0.2, dtype=torch.float64), std=0.5, prediction_type="x0")
    x = NoiseSource([5]).randn((1, 2, 2), dtype=torch.float64)
    grids = [strided_timesteps(300, stride, 60) for stride in (16, 8, 4, 2)]
    errors, euler = ode_errors(DPMSolverPP2M(), path, grids, model, x), ode_errors(Euler(), path, grids, model, x)
    assert all(1.7 < p < 2.5 for p in orders(errors)), errors
    assert errors[-1] < euler[-1] / 10


def test_ddim_eta_one_is_ancestral_ddpm_with_the_posterior_variance():
    path, grid = deepfloyd_path(), strided_timesteps(990, 110)
    model = TinyNet(path)
    x = NoiseSource([8]).randn(model.image_shape)
    ddim = sample_loop(model, x, grid, solver=DDIM(eta=1.0), noise=NoiseSource([9]))
    ddpm = sample_loop(model, x, grid, solver=DDPM("posterior"), noise=NoiseSource([9]))
    assert torch.allclose(ddim, ddpm, atol=1e-5)
    assert not torch.allclose(ddim, sample_loop(model, x, grid, solver=DDIM(), noise=NoiseSource([9])), atol=1e-3)


@pytest.mark.parametrize("name", ["heun", "dpm++2m", "ddim"])
def test_procedures_get_every_solver(name):
    """SDEdit starts mid-grid and inpainting projects in the hook; both run any solver and keep the known region."""
    path, grid = course_ddpm_path(), strided_timesteps(300, 30)
    target = torch.rand(1, 1, 3, 3, dtype=torch.float64)
    model = PointDenoiser(path, target)
    edited = sdedit(model, torch.zeros(1, 1, 3, 3, dtype=torch.float64), grid, NoiseSource([1]), i_start=4,
                    solver=make_solver(name))
    assert torch.allclose(edited, target, atol=1e-9)
    original, mask = torch.rand(1, 1, 3, 3, dtype=torch.float64), torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    mask[..., 1, :] = 1
    painted = inpaint(model, original, mask, grid, NoiseSource([2]), solver=make_solver(name))
    assert torch.allclose(painted * (1 - mask), original * (1 - mask), atol=1e-9)
    assert torch.allclose(painted * mask, target * mask, atol=1e-9)


def test_make_solver_refuses_what_it_cannot_do():
    with pytest.raises(ValueError):
        make_solver("rk45")
    with pytest.raises(ValueError):
        make_solver("heun", eta=0.5)
    with pytest.raises(ValueError):
        make_solver("ddim", eta=1.5).check(FlowPath())


def diffusers_dpm_trajectory(schedule: dict, timesteps, model, x, cond, model_time):
    """diffusers' DPMSolverMultistepScheduler (dpmsolver++, order 2, lower_order_final) on the same model."""
    diffusers = pytest.importorskip("diffusers")
    scheduler = diffusers.DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2,
                                                      lower_order_final=True, prediction_type="epsilon", **schedule)
    scheduler.set_timesteps(timesteps=timesteps)
    trajectory = []
    for t in scheduler.timesteps:
        eps = model(x, torch.full((x.shape[0],), model_time(int(t)), dtype=torch.long), cond).prediction
        x = scheduler.step(eps, t, x).prev_sample
        trajectory.append(x)
    return trajectory


@pytest.mark.parametrize("case", ["deepfloyd-cosine", "course-linear-300"])
def test_dpm_solver_pp_2m_equals_diffusers_step_by_step(case):
    """Same timesteps, ε-prediction, a tiny random net: every intermediate x agrees to float32 rounding.

    IF's grid 990 → 0 by 90, then to the clean end (t = −1, ᾱ = 1: diffusers' final σ = 0). The course
    path indexes ᾱ from t = 0 (ᾱ = 1) to 300, diffusers from 0 to 299: course t is diffusers' t − 1.
    """
    if case == "deepfloyd-cosine":
        path, grid = deepfloyd_path(), strided_timesteps(990, 90) + [-1]
        schedule = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
        peer_times, model_time = grid[:-1], int
    else:
        path, grid = course_ddpm_path(), strided_timesteps(300, 30)
        betas = torch.linspace(1e-4, 0.02, 300, dtype=torch.float64).tolist()
        schedule, peer_times = dict(num_train_timesteps=300, trained_betas=betas), [t - 1 for t in grid[:-1]]
        model_time = lambda t: t + 1  # noqa: E731 - the model sees course time for the peer's t
    model = TinyNet(path, seed=3)
    cond = model.encode([1, 3])
    x = NoiseSource([11, 12]).randn(model.image_shape)
    ours = []
    sample_loop(model, x, grid, cond, solver=DPMSolverPP2M(), hook=lambda state: ours.append(state.x_next))
    theirs = diffusers_dpm_trajectory(schedule, peer_times, model, x, cond, model_time)
    assert len(ours) == len(theirs) == len(grid) - 1
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4), (step, (a - b).abs().max().item())
    assert not torch.allclose(ours[-1], sample_loop(model, x, grid, cond, solver=DDIM()), atol=1e-3)

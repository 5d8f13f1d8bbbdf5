"""Presets carry the spec's published hyperparameters; bad values are one-line UserErrors."""

import math

import pytest

from difflab.errors import UserError
from difflab.training.config import RECIPES, TrainConfig, preset, preset_names, resolve


def test_course_presets_are_the_published_recipes():
    d = preset("course-denoise")        # spec §3.3
    assert (d.kind, d.conditioning, d.hidden, d.batch_size, d.lr, d.epochs, d.sigma, d.lr_schedule) == \
        ("denoise", "none", 128, 256, 1e-4, 5, 0.5, "constant")
    assert preset("course-pure-noise").kind == "pure-noise"
    ddpm = preset("course-ddpm")        # spec §3.6
    assert (ddpm.time_mode, ddpm.hidden, ddpm.batch_size, ddpm.lr, ddpm.epochs, ddpm.num_train_steps) == \
        ("add", 64, 128, 1e-3, 20, 300)
    assert (ddpm.beta_start, ddpm.beta_end, ddpm.sample_epochs, ddpm.sample_steps) == (1e-4, 0.02, (5, 20), 300)
    flow = preset("course-flow")        # spec §3.7
    assert (flow.time_mode, flow.hidden, flow.batch_size, flow.lr, flow.epochs, flow.sample_epochs) == \
        ("mul", 64, 64, 1e-2, 10, (1, 5, 10))
    for name in ("course-ddpm-class", "course-flow-class"):
        c = preset(name)
        assert (c.conditioning, c.p_uncond, c.guidance) == ("time+class", 0.1, 5.0)
    nolr = preset("course-flow-class-nolr")
    assert nolr.lr_schedule == "constant" and nolr.lr_at(9) == nolr.lr_at(0) == 1e-3


def test_exponential_lr_decays_tenfold_over_the_run_stepped_per_epoch():
    c = preset("course-ddpm")
    assert math.isclose(c.lr_gamma, 0.1 ** (1 / 20))
    assert c.lr_at(0) == 1e-3 and math.isclose(c.lr_at(20), 1e-4)
    assert math.isclose(c.lr_at(19), 1e-3 * 0.1 ** (19 / 20))  # the last epoch's lr


def test_every_preset_builds_and_round_trips():
    assert len(preset_names()) == 2 * len(RECIPES)
    for name in preset_names():
        c = preset(name)
        assert TrainConfig.from_dict(c.to_dict()) == c and c.preset == name


def test_resolve_recipe_with_preset_kind_and_overrides():
    c = resolve("flow-class", "course", epochs=3, sample_epochs=(1, 3))
    assert c.preset == "course-flow-class" and c.epochs == 3 and c.lr == 1e-2
    assert resolve("quick-ddpm").kind == "ddpm"


@pytest.mark.parametrize("changes, words", [
    (dict(sigma=-0.1), "sigma"), (dict(dataset="cifar"), "unknown dataset"), (dict(epochs=0), "epochs"),
    (dict(lr=0), "lr"), (dict(p_uncond=1.0), "p_uncond"), (dict(sample_epochs=(11,)), "sample_epochs"),
    (dict(kind="gan"), "unknown kind"), (dict(conditioning="none"), "conditioning"),
    (dict(ema_decay=1.0), "ema_decay"), (dict(device="tpu"), "device"), (dict(guidance=-1), "guidance"),
    (dict(lr_schedule="cosine"), "lr_schedule"), (dict(beta_start=0.1, beta_end=0.01), "beta"),
])
def test_bad_values_are_user_errors(changes, words):
    with pytest.raises(UserError, match=words):
        preset("course-flow-class").replace(**changes)


def test_unknown_names_are_user_errors():
    for call in (lambda: preset("slow-flow"), lambda: resolve("gan"), lambda: resolve("flow", "slow"),
                 lambda: resolve("flow", bogus=1), lambda: TrainConfig.from_dict({"bogus": 1})):
        with pytest.raises(UserError):
            call()


def test_ddpm_sample_steps_must_divide_T():
    with pytest.raises(UserError, match="divide"):
        preset("course-ddpm").replace(sample_steps=7)
    assert preset("course-ddpm").replace(sample_steps=30).sample_steps == 30

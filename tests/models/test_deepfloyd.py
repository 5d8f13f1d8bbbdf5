"""DeepFloyd IF through diffusers, on tiny random IF folders loaded by the real code path (CPU, offline)."""

import json
import os
import shutil
import subprocess
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub: never download in a test

import pytest
import torch

from difflab.errors import UserError
from difflab.guidance import GuidedDenoiser
from difflab.models.deepfloyd import (BoundStageII, IFDenoiser, is_deepfloyd, load_deepfloyd, load_deepfloyd_stage2)
from difflab.models.placement import auto_memory, choose_memory
from difflab.models.prompts import load_prompt_dict
from difflab.models.protocol import Denoiser, ModelOutput
from difflab.paths import deepfloyd_path, strided_timesteps
from difflab.sampling import DDPMRule, NoiseSource, sample_loop
from difflab.upsampling import upsample
from models.tiny_if import SIZE, SIZE2, WIDTH, make_tiny_if, make_tiny_if_stage2

TS = strided_timesteps(990, 330)  # [990, 660, 330, 0]: the course's grid, coarsely


@pytest.fixture(scope="session")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-if")
    return make_tiny_if(root), make_tiny_if_stage2(root)


@pytest.fixture(scope="session")
def stage1(folders, tmp_path_factory):
    return load_deepfloyd(str(folders[0]), cache_dir=tmp_path_factory.mktemp("embeds"), offline=True)


@pytest.fixture(scope="session")
def stage2(folders, stage1):
    return load_deepfloyd_stage2(str(folders[1]), prompts=stage1.prompts, offline=True)


def test_loads_a_diffusers_folder_as_a_denoiser(stage1):
    assert isinstance(stage1, IFDenoiser) and isinstance(stage1, Denoiser)
    assert stage1.image_shape == (3, SIZE, SIZE) and stage1.prediction_type == "epsilon"
    assert stage1.value_range == (-1.0, 1.0) and stage1.condition_kind == "text"
    assert stage1.device == torch.device("cpu") and stage1.net.memory == "none"
    assert torch.equal(stage1.path.alphas_cumprod, deepfloyd_path().alphas_cumprod)
    assert stage1.encode(["a photo of a dog", None]).shape == (2, 77, WIDTH)


def test_output_splits_into_epsilon_and_learned_variance(stage1):
    x, t = torch.randn(2, 3, SIZE, SIZE), torch.tensor([990, 250])
    cond = stage1.encode(["a rocket ship", ""])
    out = stage1(x, t, cond)
    raw = stage1.net.unet(x, t, encoder_hidden_states=cond, return_dict=False)[0]
    assert torch.allclose(out.prediction, raw[:, :3]) and torch.allclose(out.variance, raw[:, 3:])
    assert out.prediction.dtype == out.variance.dtype == torch.float32 and not out.prediction.requires_grad
    assert torch.allclose(stage1(x, t, None).prediction, stage1(x, t, stage1.encode(["", ""])).prediction)


def test_casts_inputs_to_the_unet_dtype_and_returns_float32(folders, stage1):
    half = load_deepfloyd(str(folders[0]), dtype=torch.bfloat16, prompt_embeds=_table(stage1), text_encoder=False)
    assert half.net.unet.dtype == torch.bfloat16
    out = half(torch.randn(1, 3, SIZE, SIZE), torch.tensor([500]), half.encode(["a rocket ship"]))
    assert out.prediction.dtype == torch.float32 and out.variance.shape == (1, 3, SIZE, SIZE)


def test_sampling_step_uses_the_learned_variance_like_diffusers(folders, stage1):
    from diffusers import DDPMScheduler

    cond = stage1.encode(["a high quality photo"])
    x = NoiseSource([3]).randn(stage1.image_shape)
    ours = sample_loop(stage1, x, TS[:2], cond, rule=DDPMRule(), noise=NoiseSource([7]))
    scheduler = DDPMScheduler.from_pretrained(folders[0], subfolder="scheduler", thresholding=False, clip_sample=False)
    scheduler.set_timesteps(timesteps=TS)
    out = stage1(x, torch.tensor([TS[0]]), cond)
    theirs = scheduler.step(torch.cat([out.prediction, out.variance], 1), TS[0], x,
                            generator=torch.Generator().manual_seed(7)).prev_sample
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_guided_sampling_from_noise_and_from_a_noised_image(stage1):
    guided, noise = GuidedDenoiser(stage1, 7.0), NoiseSource([0, 1])
    cond = stage1.encode(["an oil painting of an old man", "a rocket ship"])
    sample = sample_loop(guided, noise.randn(stage1.image_shape), TS, cond, noise=noise)
    assert sample.shape == (2, 3, SIZE, SIZE) and sample.dtype == torch.float32 and sample.isfinite().all()
    x0 = torch.rand(2, 3, SIZE, SIZE) * 2 - 1  # SDEdit: noise to TS[1], denoise from index 1
    x_t = stage1.path.add_noise(x0, noise.like(x0), torch.full((2,), TS[1]))
    edit = sample_loop(guided, x_t, TS, cond, noise=noise, start=1)
    assert edit.shape == x0.shape and edit.isfinite().all()


def test_prompt_cache_encodes_each_prompt_once(folders, tmp_path):
    first = load_deepfloyd(str(folders[0]), cache_dir=tmp_path, offline=True)
    a = first.encode(["A Photo of a Dog ", "a pencil"])
    assert first.prompts._encoder.calls == 1 and len(list(tmp_path.glob("*.safetensors"))) == 3  # + ""
    assert torch.equal(first.encode(["a photo of a dog"])[0], a[0])  # IF lower-cases and strips
    first.encode([None, "a pencil"])
    assert first.prompts._encoder.calls == 1
    again = load_deepfloyd(str(folders[0]), cache_dir=tmp_path, offline=True)
    assert torch.equal(again.encode(["a photo of a dog", "a pencil"]), a)
    assert again.prompts._encoder is None  # answered from disk: the T5 was never loaded


def _table(stage1):
    prompts = ["", "a rocket ship", "a man wearing a hat"]
    return {p: row.unsqueeze(0).half() for p, row in zip(prompts, stage1.encode(prompts))}


def test_course_prompt_dict_is_read_safely_and_looked_up_first(folders, stage1, tmp_path):
    pth = tmp_path / "prompt_embeds_dict.pth"
    torch.save(_table(stage1), pth)
    table = load_prompt_dict(pth, width=WIDTH)
    assert table["a rocket ship"].shape == (1, 77, WIDTH) and table[""].dtype == torch.float32
    model = load_deepfloyd(str(folders[0]), prompt_embeds=pth, text_encoder=False, cache_dir=tmp_path / "c")
    assert torch.allclose(model.encode(["a rocket ship"]), table["a rocket ship"])
    with pytest.raises(UserError, match="'a photo of a cat'.*--prompt-embeds"):
        model.encode(["a photo of a cat"])
    from safetensors.torch import save_file
    save_file({k: v.float() for k, v in _table(stage1).items()}, tmp_path / "embeds.safetensors")
    assert set(load_prompt_dict(tmp_path / "embeds.safetensors")) == {"", "a rocket ship", "a man wearing a hat"}


@pytest.mark.parametrize("content, message", [
    ({"x": torch.zeros(1, 77, 7)}, "has shape"),
    ({"x": "not a tensor"}, "not a floating-point tensor"),
    (torch.nn.Linear(1, 1), "cannot read prompt embeddings"),  # an object: refused by weights_only
])
def test_bad_prompt_dicts_are_one_line_errors(tmp_path, content, message):
    torch.save(content, tmp_path / "bad.pth")
    with pytest.raises(UserError, match=message) as err:
        load_prompt_dict(tmp_path / "bad.pth", width=WIDTH)
    assert "\n" not in str(err.value)


def test_stage2_upsamples_with_guidance_and_its_noise_level(stage1, stage2):
    assert stage2.image_shape == (6, SIZE2, SIZE2) and stage2.noise_level == 250
    images = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    cond = stage2.encode(["a rocket ship", "a photo of a dog"])
    out = upsample(stage2, images, cond, seeds=[0, 1], steps=2, guidance=7.0)
    assert out.shape == (2, 3, SIZE2, SIZE2) and out.dtype == torch.float32 and out.isfinite().all()
    assert torch.equal(out, upsample(stage2, images, cond, seeds=[0, 1], steps=2))  # seeded
    bound = stage2.bind(images, NoiseSource([5, 6]))
    x, t = torch.randn(2, 3, SIZE2, SIZE2), torch.tensor([500, 500])
    raw = stage2.net.unet(torch.cat([x, bound.upscaled], 1), t, encoder_hidden_states=cond,
                          class_labels=torch.tensor([250, 250]), return_dict=False)[0]
    got = bound(x, t, cond)
    assert torch.allclose(got.prediction, raw[:, :3], atol=1e-6) and torch.allclose(got.variance, raw[:, 3:], atol=1e-6)


class _Flip:
    """A one-view wrapper (Denoiser → Denoiser), standing in for an anagram's views."""

    def __init__(self, base):
        self.base = base

    def __getattr__(self, name):
        return getattr(self.base, name)

    def __call__(self, x, t, cond):
        out = self.base(x.flip(2), t, cond)
        return ModelOutput(out.prediction.flip(2), out.variance.flip(2))


def test_views_in_stage2_move_the_low_res_image_too(stage2):
    images, cond = torch.rand(1, 3, SIZE, SIZE) * 2 - 1, stage2.encode(["a pencil"])
    bound = stage2.bind(images, [2], wrap=_Flip)
    assert isinstance(bound, BoundStageII) and bound.image_shape == (3, SIZE2, SIZE2)
    x, t = torch.randn(1, 3, SIZE2, SIZE2), torch.tensor([660])
    joint = torch.cat([x, bound.upscaled], 1).flip(2)  # the view acts on image and low-res alike
    expected = stage2(joint, t, cond).prediction.flip(2)[:, :3]
    assert torch.allclose(bound(x, t, cond).prediction, expected, atol=1e-6)
    out = upsample(stage2, images, cond, seeds=[2], timesteps=[990, 0], wrap=_Flip)
    assert out.shape == (1, 3, SIZE2, SIZE2)


def test_missing_weights_say_how_to_get_access_and_write_nothing(folders, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with pytest.raises(UserError) as err:
        load_deepfloyd("if-i-m", cache_dir=out / "cache", offline=True)
    message = str(err.value)
    assert "https://huggingface.co/DeepFloyd/IF-I-XL-v1.0" in message and "hf auth login" in message
    assert "HF_TOKEN" in message and "\n" not in message
    with pytest.raises(UserError, match="no model folder at /nonexistent/deepfloyd"):
        load_deepfloyd("/nonexistent/deepfloyd", offline=True)
    with pytest.raises(UserError, match="cannot load the DeepFloyd IF UNet from the folder"):
        load_deepfloyd(str(out), offline=True)
    no_t5 = load_deepfloyd(str(folders[0]), text_encoder="DeepFloyd/IF-I-M-v1.0", cache_dir=out / "cache", offline=True)
    with pytest.raises(UserError, match=r"'a pencil' \(no prompt embedding file.*hf auth login.*--prompt-embeds") as e:
        no_t5.encode(["a pencil"])
    assert "\n" not in str(e.value)
    assert [p for p in out.rglob("*")] == []


def test_a_non_if_scheduler_is_refused(folders, tmp_path):
    folder = shutil.copytree(folders[0], tmp_path / "linear")
    config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({**config, "beta_schedule": "linear"}))
    with pytest.raises(UserError, match="not a DeepFloyd IF model"):
        load_deepfloyd(str(folder), offline=True)


def test_memory_modes():
    gib = 2**30
    assert auto_memory(9 * gib, 70 * gib, 80 * gib) == "none"
    assert auto_memory(9 * gib, 14 * gib, 15 * gib) == "model-offload"
    assert auto_memory(9 * gib, 7 * gib, 8 * gib) == "sequential-offload"
    assert choose_memory("sequential-offload", torch.device("cpu"), gib) == "none"
    with pytest.raises(UserError, match="unknown memory mode"):
        choose_memory("half", torch.device("cpu"), gib)


def test_model_offload_keeps_one_unet_resident(folders, stage1, monkeypatch):
    import difflab.models.placement as placement

    monkeypatch.setattr(placement, "choose_memory", lambda *args: "model-offload")  # as on a small GPU
    monkeypatch.setattr(placement, "_RESIDENT", [])
    first = load_deepfloyd(str(folders[0]), prompt_embeds=_table(stage1), text_encoder=False)
    second = load_deepfloyd_stage2(str(folders[1]), prompts=first.prompts)
    first(torch.randn(1, 3, SIZE, SIZE), torch.tensor([500]), None)
    assert placement._RESIDENT == [first.net]
    upsample(second, torch.zeros(1, 3, SIZE, SIZE), [""], seeds=[0], timesteps=[990, 0])
    assert placement._RESIDENT == [second.net]


def test_model_names(folders):
    assert is_deepfloyd("deepfloyd-if") and is_deepfloyd("IF-II-M") and is_deepfloyd("DeepFloyd/IF-I-L-v1.0")
    assert is_deepfloyd(str(folders[0])) and not is_deepfloyd("mnist-unet") and not is_deepfloyd(str(folders[0].parent))


def test_difflab_imports_without_diffusers():
    code = ("import sys; import difflab.models.deepfloyd, difflab.models.prompts, difflab.models.hub, "
            "difflab.upsampling; "
            "assert not {'diffusers', 'transformers', 'accelerate'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": "src"})

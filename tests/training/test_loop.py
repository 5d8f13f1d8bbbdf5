"""The training loop end to end on tiny configs: run folder, reproducibility and exact resume.

Every run here trains a D = 4–8 net on a few hundred mnist-5k digits for a few dozen steps.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from difflab.checkpoints import load_model_file
from difflab.errors import UserError
from difflab.models.registry import load_course_model, load_denoiser
from difflab.training import TrainingInterrupted, preset, resume, train

SRC = str(Path(__file__).resolve().parents[2] / "src")


def tiny(name="quick-flow-class", **changes):
    base = dict(hidden=4, batch_size=32, epochs=2, train_images=192, test_images=16, sample_epochs=(1,),
                sample_steps=3, samples=4, samples_per_class=1, threads=1)
    return preset(name).replace(**{**base, **changes})


def weights(path):
    return load_file(str(path))


def assert_same_files(a, b, names=("model.safetensors", "model-raw.safetensors")):
    for name in names:
        left, right = weights(Path(a) / name), weights(Path(b) / name)
        assert left.keys() == right.keys()
        for key in left:
            assert torch.equal(left[key], right[key]), f"{name}: {key} differs"


def stats(run):
    return [{k: v for k, v in json.loads(line).items() if k != "img_per_s"}
            for line in (Path(run) / "stats.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted tiny class-conditioned flow run (6 steps per epoch, 2 epochs)."""
    return train(tiny(), tmp_path_factory.mktemp("runs") / "reference", quiet=True)


def test_run_folder_layout_and_records(reference):
    run = reference.run_dir
    files = {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()}
    assert files == {"config.json", "stats.jsonl", "epochs.jsonl", "loss.png", "metrics.json",
                     "model.safetensors", "model-raw.safetensors", "checkpoints/latest.safetensors",
                     "checkpoints/epoch-001.safetensors", "samples/epoch-001-ema.png",
                     "samples/epoch-002-ema.png", "samples/epoch-002-raw.png"}
    lines = stats(run)
    assert [r["step"] for r in lines] == list(range(1, 13)) and {r["epoch"] for r in lines} == {1, 2}
    assert lines[0]["lr"] == 1e-2 and lines[-1]["lr"] == pytest.approx(1e-2 * 0.1 ** 0.5)  # ExpLR per epoch
    epochs = [json.loads(line) for line in (run / "epochs.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2] and all(e["test_loss_ema"] > 0 for e in epochs)
    assert json.loads((run / "config.json").read_text())["seed"] == 0
    state, spec, records = load_model_file(run / "model.safetensors")
    assert spec["objective"] == "flow" and spec["extra"]["weights"] == "ema"
    assert records["train_config"]["hidden"] == 4 and records["metrics"]["steps"] == 12
    denoiser = load_denoiser(str(run), device="cpu")
    assert denoiser.prediction_type == "velocity" and denoiser.condition_kind == "class"
    snapshot = load_denoiser(str(run / "checkpoints" / "epoch-001.safetensors"), device="cpu")
    assert snapshot.path.kind == "flow"


def test_same_seed_same_weights_other_seed_other_weights(reference, tmp_path):
    again = train(tiny(), tmp_path / "again", quiet=True)
    assert_same_files(reference.run_dir, again.run_dir)
    assert stats(reference.run_dir) == stats(again.run_dir)
    other = train(tiny(seed=1, epochs=1, sample_epochs=()), tmp_path / "other", quiet=True)
    first = weights(other.run_dir / "model-raw.safetensors")
    assert not torch.equal(first["out.weight"], weights(reference.run_dir / "model-raw.safetensors")["out.weight"])


def test_resume_after_a_stop_mid_epoch_is_bit_identical(reference, tmp_path):
    run = tmp_path / "stopped"
    with pytest.raises(TrainingInterrupted):       # checkpoint at step 4, stop (as if killed) at step 5
        train(tiny(checkpoint_every=4), run, quiet=True, stop_after_steps=5)
    assert not (run / "model.safetensors").exists() and len(stats(run)) == 5
    with pytest.raises(TrainingInterrupted):       # resume from step 4, stop again at step 8 (epoch 2)
        resume(run, quiet=True, stop_after_steps=8)
    resume(run, quiet=True)
    assert_same_files(reference.run_dir, run)
    assert stats(run) == stats(reference.run_dir)  # the lines after the checkpoint were rewritten
    assert [json.loads(x)["epoch"] for x in (run / "epochs.jsonl").read_text().splitlines()] == [1, 2]
    with pytest.raises(UserError, match="finished"):
        resume(run, quiet=True)


def test_kill_9_then_resume_is_bit_identical(reference, tmp_path):
    """A real SIGKILL at the moment the first checkpoint lands, then `difflab train --resume`."""
    run = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-m", "difflab", "train", "quick-flow-class", "--quiet", "--out", str(run),
               "--hidden", "4", "--batch-size", "32", "--epochs", "2", "--train-images", "192", "--test-images", "16",
               "--sample-epochs", "1", "--sample-steps", "3", "--samples-per-class", "1", "--num", "4",
               "--threads", "1", "--checkpoint-every", "2"]
    process = subprocess.Popen(command, env=env)
    latest = run / "checkpoints" / "latest.safetensors"
    deadline = time.time() + 120
    while not latest.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (run / "model.safetensors").exists()
    done = subprocess.run([sys.executable, "-m", "difflab", "train", "--resume", str(run), "--quiet"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_same_files(reference.run_dir, run)
    assert stats(run) == stats(reference.run_dir)


@pytest.mark.parametrize("name", ["quick-ddpm-class", "quick-flow", "quick-ddpm"])
def test_time_models_train_and_load(name, tmp_path):
    result = train(tiny(name, epochs=1, sample_epochs=(1,), sample_steps=4 if "ddpm" not in name else 3,
                        num_train_steps=30, train_images=64), tmp_path / "run", quiet=True)
    _, spec, _ = load_course_model(str(result.run_dir), device="cpu")
    assert spec.objective == name.split("-")[1] and (result.run_dir / "samples" / "epoch-001-raw.png").exists()
    assert torch.isfinite(torch.tensor(result.metrics["final_train_loss"]))


@pytest.mark.parametrize("name, figures", [("quick-denoise", {"noising-grid.png", "ood-sweep.png"}),
                                           ("quick-pure-noise", {"pure-noise-vs-mean.png"})])
def test_single_step_models_draw_their_figures(name, figures, tmp_path):
    result = train(tiny(name, epochs=1, sample_epochs=(1,), train_images=64), tmp_path / "run", quiet=True)
    assert {p.name for p in (result.run_dir / "figures").iterdir()} == figures
    with pytest.raises(UserError, match="not a diffusion or flow model"):
        load_denoiser(str(result.run_dir), device="cpu")
    if name == "quick-pure-noise":
        assert result.metrics["output_to_mean_rms"] < result.metrics["digit_to_mean_rms"] * 2


def test_no_ema_exports_raw_weights_only(tmp_path):
    result = train(tiny(epochs=1, sample_epochs=(), ema_decay=0.0, export_weights="raw", train_images=64),
                   tmp_path / "run", quiet=True)
    assert not (result.run_dir / "model-raw.safetensors").exists()
    assert (result.run_dir / "samples" / "epoch-001-raw.png").exists()


def test_single_process_weights_equal_the_loop_written_out(reference):
    """The single-process path, written out step by step as the loop was before it learnt processes.

    Data order from generator (seed, 0, epoch); per step one generator (seed, 1, step) drawing the
    noise, then t, then the class dropout, on the CPU; Adam; lr per epoch. Equal bit for bit.
    """
    from difflab.data import load_dataset
    from difflab.models.unet import CourseUNet
    from difflab.paths import FlowPath
    from difflab.training.loop import generator
    from difflab.training.objectives import class_condition, flow_loss

    cfg = tiny()
    train_set = load_dataset("mnist-5k", "train")
    images, labels = train_set.images[:cfg.train_images], train_set.labels[:cfg.train_images]
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = CourseUNet(hidden=cfg.hidden, conditioning=cfg.conditioning, time_mode=cfg.time_mode)
    optimizer, step = torch.optim.Adam(net.parameters(), lr=cfg.lr), 0
    for epoch in range(cfg.epochs):
        optimizer.param_groups[0]["lr"] = cfg.lr_at(epoch)
        order = torch.randperm(len(images), generator=generator(cfg.seed, 0, epoch))
        for index in order.split(cfg.batch_size):
            g = generator(cfg.seed, 1, step)
            noise, t = torch.randn(images[index].shape, generator=g), torch.rand(len(index), generator=g)
            c = class_condition(labels[index], 10, cfg.p_uncond, g)
            loss = flow_loss(net, FlowPath(), images[index], noise, t, c)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    torch.set_num_threads(threads)
    trained = weights(reference.run_dir / "model-raw.safetensors")
    assert trained.keys() == net.state_dict().keys()
    assert all(torch.equal(trained[k], v) for k, v in net.state_dict().items())

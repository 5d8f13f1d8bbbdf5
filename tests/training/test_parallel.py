"""Several processes (gloo on the CPU) train what one process with the same global batch trains.

The runs are tiny (D = 4, 12 steps of a global batch of 32 over 2 processes). One is started by
the real launcher (`accelerate launch --multi_gpu`, which is torchrun underneath); the killed one
is started as torchrun starts its workers (RANK, WORLD_SIZE, MASTER_ADDR/PORT in the
environment), so that the test holds both process ids and can kill -9 them.
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from difflab.cli import main
from difflab.errors import UserError
from difflab.models.unet import CourseUNet
from difflab.training import preset, train
from launch import ENV, finish, free_port, start_workers
from difflab.training.parallel import GlobalBatchNorm, check_shards, resolve_precision, shard, start_processes

LR, STEPS = 1e-3, 12
TINY = dict(hidden=4, batch_size=32, epochs=2, train_images=192, test_images=8, sample_epochs=(), samples_per_class=0,
            threads=1, lr=LR)
FLAGS = ["quick-flow-class", "--quiet", "--hidden", "4", "--batch-size", "32", "--epochs", "2", "--train-images", "192",
         "--test-images", "8", "--sample-epochs", "", "--samples-per-class", "0", "--threads", "1", "--lr", str(LR)]
def weights(run):
    return load_file(str(Path(run) / "model-raw.safetensors")), load_file(str(Path(run) / "model.safetensors"))


def stats(run):
    return [{k: v for k, v in json.loads(line).items() if k != "img_per_s"}
            for line in (Path(run) / "stats.jsonl").read_text().splitlines()]


def inert_tensors(net: nn.Module) -> set[str]:
    """Biases of convolutions that feed a BatchNorm, and the running means that absorb them.

    Their gradient is exactly zero (BatchNorm subtracts the batch mean), so in float it is rounding
    noise, which Adam normalises into steps of up to ~lr: any two runs whose sums round differently
    drift apart there by up to ~lr per step, whatever the number of processes.
    """
    inert = set()
    for name, module in net.named_modules():
        children = list(module.named_children()) if isinstance(module, nn.Sequential) else []
        for (a, first), (b, second) in zip(children, children[1:]):
            if isinstance(first, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(second, nn.BatchNorm2d):
                inert |= {f"{name}.{a}.bias", f"{name}.{b}.running_mean"}
    return inert


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A two-process run through `accelerate launch`, started while one process trains in this one."""
    root = tmp_path_factory.mktemp("parallel")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
         free_port(), "-m", "difflab", "train", *FLAGS, "--out", str(root / "two")],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    one = train(preset("quick-flow-class").replace(**TINY), root / "one", quiet=True)
    out, err = launcher.communicate(timeout=300)
    assert launcher.returncode == 0, err
    assert out.count("trained two: 12 steps") == 1  # only the main process reports
    return one.run_dir, root / "two"


def test_two_processes_train_what_one_process_trains(runs):
    one, two = runs
    assert json.loads((two / "metrics.json").read_text())["processes"] == 2
    inert = inert_tensors(CourseUNet(hidden=4, conditioning="time+class"))
    for left, right in zip(weights(one), weights(two)):
        assert left.keys() == right.keys()
        for key in left:
            if not left[key].is_floating_point():
                assert torch.equal(left[key], right[key]), key        # BatchNorm's batch counts
            elif key in inert:
                assert (left[key] - right[key]).abs().max() <= 2 * LR * STEPS, key
            else:  # fp32 sums in another order (shards, the all-reduce), through 12 Adam steps: ~5e-7 seen
                torch.testing.assert_close(left[key], right[key], rtol=1e-4, atol=1e-5, msg=key)
    for a, b in zip(stats(one), stats(two)):  # the logged loss is the global batch's
        assert a["step"] == b["step"] and a["loss"] == pytest.approx(b["loss"], rel=1e-5)


def test_kill_9_of_both_processes_then_resume_ends_equal(runs, tmp_path):
    run = tmp_path / "killed"
    workers = start_workers(FLAGS + ["--out", str(run), "--checkpoint-every", "2"])
    latest, deadline = run / "checkpoints" / "latest.safetensors", time.time() + 180
    while not latest.exists() and all(p.poll() is None for p in workers) and time.time() < deadline:
        time.sleep(0.005)
    for p in workers:
        p.send_signal(signal.SIGKILL)
    assert [p.wait() for p in workers] == [-signal.SIGKILL] * 2, "a process ended before the kill"
    assert not (run / "model.safetensors").exists()
    finish(start_workers(["--resume", str(run), "--quiet"]))
    _, two = runs
    for left, right in zip(weights(two), weights(run)):
        assert all(torch.equal(left[k], right[k]) for k in left)     # same processes, same sums: bit-identical
    assert stats(run) == stats(two)


def test_shards_cover_the_batch_once_and_small_batches_are_refused():
    for batch, world in ((32, 2), (7, 3), (5, 5)):
        rows = [shard(batch, r, world) for r in range(world)]
        assert [i for s in rows for i in range(batch)[s]] == list(range(batch))
        assert max(s.stop - s.start for s in rows) - min(s.stop - s.start for s in rows) <= 1
    check_shards(65, 32, 1)  # 65 images in batches of 32: the last batch holds one image
    check_shards(64, 32, 2)
    with pytest.raises(UserError, match="a batch of 1 images cannot be split over 2 processes"):
        check_shards(65, 32, 2)


def test_global_batchnorm_is_batchnorm_in_one_process():
    torch.manual_seed(0)
    plain, x = nn.BatchNorm2d(3), torch.randn(8, 3, 5, 5)
    synced = GlobalBatchNorm(3)
    synced.load_state_dict(plain.state_dict())
    assert torch.equal(plain(x), synced(x)) and torch.equal(plain.running_var, synced.running_var)


def test_precision_and_launch_choices(monkeypatch, capsys):
    assert resolve_precision("mixed", torch.device("cpu")) == "bf16"
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    with pytest.raises(UserError, match="fp16 training needs a CUDA device"):
        resolve_precision("fp16", torch.device("cpu"))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UserError, match="local rank"):
        start_processes("cuda:1")
    monkeypatch.delenv("WORLD_SIZE")
    with pytest.raises(SystemExit):
        main(["train", "flow", "--precision", "fp8"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err


def test_bf16_and_channels_last_train_on_the_cpu(tmp_path):
    result = train(preset("quick-flow-class").replace(**{**TINY, "epochs": 1, "train_images": 64},
                                                      precision="mixed", channels_last=True),
                   tmp_path / "run", quiet=True)
    assert result.metrics["precision"] == "bf16" and torch.isfinite(torch.tensor(result.metrics["final_train_loss"]))
    assert all(torch.isfinite(v).all() for v in load_file(str(result.model_file)).values() if v.is_floating_point())


def test_compile_flag_trains_through_torch_compile(tmp_path):
    """Wiring only: compiling the UNet takes minutes on this CPU (a --compile run is timed in RESULTS.md)."""
    from difflab.data import load_dataset
    from difflab.training.loop import Trainer

    data = (load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test"))
    trainer = Trainer(preset("quick-flow").replace(**{**TINY, "conditioning": "time"}, compile=True), tmp_path, data,
                      quiet=True, stop_after_steps=None)
    assert isinstance(trainer.model, torch._dynamo.eval_frame.OptimizedModule)
    assert trainer.model._orig_mod is trainer.net


def test_the_grad_scaler_state_travels_with_the_position(tmp_path):
    from difflab.training.checkpoints import Position, load_train_state, save_train_state

    net = CourseUNet(hidden=4)
    optimizer = torch.optim.Adam(net.parameters())
    scaler = {"scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
              "_growth_tracker": 7}
    save_train_state(tmp_path / "state.safetensors", net, None, optimizer, Position(step=3, scaler=scaler), {"a": 1})
    position, _ = load_train_state(tmp_path / "state.safetensors", net, None, optimizer)
    assert position.step == 3 and position.scaler == scaler

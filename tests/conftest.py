"""Shared test set-up: one torch thread, and tiny course model files for the Part A tests."""

import pytest
import torch

from difflab.checkpoints import save_model_file
from tiny_course import tiny_net, tiny_spec

# Tests use tiny tensors: one thread is faster than two and does not oversubscribe CI's 2 cores.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def model_files(tmp_path_factory):
    """name → path of tiny model files: flow/ddpm, class-conditioned or unconditional."""
    folder = tmp_path_factory.mktemp("models")
    files = {}
    for objective in ("flow", "ddpm"):
        for conditioning in ("time+class", "time"):
            net = tiny_net(conditioning, "mul" if objective == "flow" else "add")
            name = f"{objective}-{'class' if conditioning == 'time+class' else 'uncond'}"
            files[name] = save_model_file(folder / f"{name}.safetensors", net.state_dict(),
                                          tiny_spec(net, objective).to_dict())
    return files


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working folder with an (empty) runs/ in it, as a user's project would have."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    return tmp_path


@pytest.fixture
def refused(workdir, capsys):
    """refused(argv) → the one error line: exit 2, one line, no traceback, nothing written (hostile_input)."""
    from hostile_input import check_refused
    return lambda argv: check_refused(argv, workdir, capsys)

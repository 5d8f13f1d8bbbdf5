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

"""Launching several `difflab train` processes as torchrun starts its workers (tests of multi-process runs)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def start_workers(args, world=2):
    """`world` processes of `difflab train args`, with the environment torchrun gives its workers."""
    port = free_port()
    return [subprocess.Popen([sys.executable, "-m", "difflab", "train", *args],
                             env={**ENV, "RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": str(world),
                                  "LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(world)]


def finish(processes):
    outputs = [p.communicate(timeout=300) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    return outputs

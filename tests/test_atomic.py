"""A write killed half-way (kill -9) leaves only a hidden temporary file, which the next write
into that folder removes once its writer is gone; final names are never shortened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from difflab.atomic import atomic_write, clean_temporaries, write_json

WRITER = textwrap.dedent("""
    import sys, time
    from difflab.atomic import atomic_write
    with atomic_write(sys.argv[1]) as handle:
        handle.write(b"x" * 2_000_000)
        handle.flush()
        print("writing", flush=True)
        time.sleep(120)
""")


def start_writer(path):
    """A process stopped inside atomic_write(path), its temporary file on disk."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, env=os.environ)
    assert writer.stdout.readline().strip() == b"writing"
    return writer


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def write_from_another_process(path):
    done = subprocess.run([sys.executable, "-c", "import sys; from difflab.atomic import write_json; "
                           "write_json(sys.argv[1], {})", str(path)], env=os.environ)
    assert done.returncode == 0


def test_a_killed_write_leaves_no_final_file_and_the_next_write_sweeps_its_temporary(tmp_path):
    writer = start_writer(tmp_path / "model.safetensors")
    try:
        assert len(temporaries(tmp_path)) == 1
        write_from_another_process(tmp_path / "a.json")  # the writer is alive: its file stays
        assert len(temporaries(tmp_path)) == 1
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert not (tmp_path / "model.safetensors").exists()
    write_from_another_process(tmp_path / "b.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_temporaries_without_a_writer_id_go_only_when_the_folder_is_owned(tmp_path):
    old = tmp_path / ".config.json.abcd1234.tmp"  # an older difflab's name: no PID to ask about
    old.write_text("{")
    write_json(tmp_path / "x.json", {})
    assert old.exists()
    assert clean_temporaries(tmp_path, everything=True) == [old] and not old.exists()


def test_a_long_final_name_is_kept_whole(tmp_path):
    name = "n" * 250 + ".png"
    with atomic_write(tmp_path / name) as handle:
        handle.write(b"png")
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_name_too_long_is_a_write_error_not_a_traceback(tmp_path):
    import pytest

    from difflab.errors import WriteError

    with pytest.raises(WriteError, match="cannot write"):
        write_json(tmp_path / ("n" * 300 + ".json"), {})
    assert list(tmp_path.iterdir()) == []

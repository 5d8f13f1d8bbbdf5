"""`difflab ui`: loopback and no share link by default, and one clear line without gradio."""

import pytest

from difflab.cli import main


def test_ui_without_gradio_is_one_clear_line(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    assert main(["ui"]) == 2
    assert 'pip install "difflab[ui]"' in capsys.readouterr().err


def test_ui_listens_on_loopback_without_a_share_link_unless_asked(monkeypatch, tmp_path):
    pytest.importorskip("gradio", reason="the web UI's tests need gradio: pip install 'difflab[ui]'")
    import difflab.ui.app

    calls = []
    monkeypatch.setattr(difflab.ui.app, "launch", lambda app, **options: calls.append((app, options)))
    assert main(["ui", "--runs", str(tmp_path / "r")]) == 0
    assert main(["ui", "--model", "mnist-ddpm", "--host", "0.0.0.0", "--port", "8123", "--share"]) == 0
    (first, default), (second, asked) = calls
    assert default == {"host": "127.0.0.1", "port": None, "share": False} and first.root == tmp_path / "r"
    assert asked == {"host": "0.0.0.0", "port": 8123, "share": True} and second.model == "mnist-ddpm"

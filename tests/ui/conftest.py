import pytest


@pytest.fixture
def app(tmp_path):
    """A web UI app whose run folders go under tmp_path (needs gradio; its tests import it first)."""
    from difflab.ui.running import App

    return App(root=tmp_path / "runs")

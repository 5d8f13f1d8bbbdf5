"""The page's model-dependent parts: the views offered, and what the model picker refreshes."""

import pytest

pytest.importorskip("gradio", reason="the web UI's tests need gradio: pip install 'difflab[ui]'")

from difflab.ui.app import refresh, usable_views  # noqa: E402


def test_views_offered_are_those_that_pass_check_view():
    class Wide:
        image_shape = (1, 28, 32)
    names = usable_views(Wide())
    assert "flip" in names and "mirror" in names
    assert not {"rot90", "jigsaw", "inner_circle"} & set(names)  # they need a square image


def test_changing_the_model_refreshes_what_depends_on_it(app):
    about, guidance, views, sketch, editor = refresh(app, "mnist-ddpm")
    assert "discrete path" in about and "class-conditioned" in about and guidance == 5.0
    assert "flip" in views["choices"] or ("flip", "flip") in views["choices"]
    assert sketch["background"].getpixel((5, 5)) == (0, 0, 0)  # a dark canvas for white-on-black digits

"""The web UI in a real browser: Debian's chromium driven by Playwright, the app on a free loopback port.

Draws a stroke on the sketch pad and runs SDEdit, paints a mask and inpaints, runs an anagram, and
checks that the images appear, the run folder exists and the browser console shows no error.
"""

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio", reason="the browser tests need gradio: pip install 'difflab[ui]'")
from difflab.report.browser import find_chromium  # noqa: E402  the one rule for finding Chromium

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the browser tests need Playwright for Python: pip install playwright")
CHROMIUM = find_chromium()
if CHROMIUM is None:
    pytest.skip("the browser tests need Chromium: apt-get install chromium (or set DIFFLAB_CHROMIUM)",
                allow_module_level=True)

from difflab.ui.app import CSS, THEME, build  # noqa: E402
from difflab.ui.running import App  # noqa: E402

TIMEOUT_MS = 180_000  # generous: CI and this shared machine can be heavily loaded; a passing run takes seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = App(root=tmp_path_factory.mktemp("ui") / "runs")
    page = build(app)
    page.queue(default_concurrency_limit=2)
    page.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                theme=THEME, css=CSS, allowed_paths=[str(app.root)])
    yield app, page.local_url
    page.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def tab(server, browser):
    """A fresh page on the app with 4 sampling steps; at the end, the console must hold no error."""
    app, url = server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.locator("#steps input").fill("4")

    def open_tab(name):
        page.get_by_role("tab", name=name).click()
        return page
    yield app, open_tab, errors
    page.close()


def stroke(page, selector: str, points) -> None:
    """Drag the mouse over the editor's canvas through `points` (fractions of its size)."""
    canvas = page.locator(f"{selector} canvas").first
    canvas.wait_for()
    box = canvas.bounding_box()
    (x0, y0), *rest = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(x, y, steps=3)  # each move redraws the canvas in software: ~0.3 s here
    page.mouse.up()
    # The editor hands its layers to the server after the stroke, asynchronously: on a loaded machine a
    # Run pressed at once could still send the empty canvas (seen once at load ~9).
    page.wait_for_timeout(3000)


def run_and_wait(page, name: str, images: int) -> Path:
    """Press the tab's Run, wait for `images` pictures in its gallery; return the run folder shown."""
    page.locator(f"#{name}-run").click()
    page.locator(f"#{name}-gallery img").nth(images - 1).wait_for(timeout=TIMEOUT_MS)
    info = page.locator(f"#{name}-info")
    info.get_by_text("Run folder").wait_for(timeout=TIMEOUT_MS)
    folder = Path(info.locator("code").first.inner_text())
    assert (folder / "config.json").is_file() and (folder / "records.jsonl").is_file()
    return folder


def white_fraction(path: Path) -> float:
    return float((np.asarray(Image.open(path).convert("L")) > 127).mean())


def test_sdedit_of_a_stroke_drawn_on_the_sketch_pad(tab):
    app, open_tab, errors = tab
    page = open_tab("SDEdit")
    stroke(page, "#sdedit-sketch", [(0.4, 0.2), (0.5, 0.5), (0.55, 0.8)])
    page.locator("#sdedit-levels textarea, #sdedit-levels input").first.fill("1,3")
    folder = run_and_wait(page, "sdedit", 3)
    assert white_fraction(folder / "original.png") > 0.01  # the stroke reached the command's input
    assert len(json.loads((folder / "config.json").read_text())["i_start"]) == 2
    assert not errors


def test_inpaint_of_a_painted_mask(tab):
    app, open_tab, errors = tab
    page = open_tab("Inpaint")
    stroke(page, "#inpaint-editor", [(0.3, 0.5), (0.5, 0.5), (0.7, 0.5)])
    folder = run_and_wait(page, "inpaint", 4)
    assert 0 < white_fraction(folder / "mask.png") < 0.6  # the painted band, not the whole picture
    assert not errors


def test_anagram_shows_its_views_and_animation(tab):
    app, open_tab, errors = tab
    page = open_tab("Anagram")
    page.locator("#anagram-prompts textarea").fill("skull\nrocket")  # the default model takes text
    folder = run_and_wait(page, "anagram", 2)
    page.locator("#anagram-turning img").wait_for(timeout=TIMEOUT_MS)
    assert (folder / "anagram-seed0-views.png").is_file()
    assert not errors


def test_bad_input_shows_the_message_in_the_page(tab):
    app, open_tab, errors = tab
    page = open_tab("SDEdit")
    page.locator("#sdedit-levels textarea, #sdedit-levels input").first.fill("99")
    page.locator("#sdedit-run").click()
    page.get_by_text("i_start must be an integer").first.wait_for(timeout=TIMEOUT_MS)
    assert "Traceback" not in page.content()

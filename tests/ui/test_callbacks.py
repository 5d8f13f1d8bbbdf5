"""The web UI's callbacks, called as Gradio calls them: same run folders as the CLI, messages not tracebacks."""

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

gr = pytest.importorskip("gradio", reason="the web UI's tests need gradio: pip install 'difflab[ui]'")

from difflab.cli import main  # noqa: E402
from difflab.ui import callbacks  # noqa: E402
from difflab.ui.running import App, cancel  # noqa: E402

MODEL, STEPS = "mnist-flow", 4
SHARED = (5.0, STEPS, "default", 0, 1)  # γ, steps, sampler, seed, images


def finish(generator):
    """Run a callback to its end: (every yield, the last yield)."""
    yields = list(generator)
    return yields, yields[-1]


def run_folder(info: str) -> Path:
    return Path(info.split("`")[1])


def records(run):
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]


def remade(record, out) -> bytes:
    """The record's own command line, run by the CLI into a fresh folder: its image's bytes."""
    assert main(record["argv"][1:] + ["--out", str(out), "--quiet"]) == 0
    return (out / record["image"]).read_bytes()


def canvas_with_stroke(mode="RGB"):
    picture = Image.new(mode, (280, 280), "black")
    ImageDraw.Draw(picture).line([(70, 60), (200, 220)], fill="white", width=24)
    return picture


def editor(background, layers=()):
    return {"background": background, "layers": list(layers), "composite": background}


def painted_layer(size=(280, 280), box=(90, 90, 190, 190)):
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).rectangle(box, fill=(255, 0, 255, 255))
    return layer


TABS = {
    "sample": lambda app: callbacks.sample(app, MODEL, "3\n7", *SHARED),
    "denoise": lambda app: callbacks.denoise(app, MODEL, None, "digit:3", "0.5", "", STEPS, "default", 0, 1),
    "sdedit": lambda app: callbacks.sdedit(app, MODEL, editor(canvas_with_stroke()), "", "1,2", "", *SHARED),
    "img2img": lambda app: callbacks.sdedit(app, MODEL, editor(canvas_with_stroke()), "", "2", "7", *SHARED),
    "inpaint": lambda app: callbacks.inpaint(app, MODEL, editor(canvas_with_stroke(), [painted_layer()]), "",
                                             0, 1, 1, *SHARED),
    "anagram": lambda app: callbacks.anagram(app, MODEL, "2\n5", ["identity", "flip"], *SHARED),
    "hybrid": lambda app: callbacks.hybrid(app, MODEL, "8", "3", "lowpass", 9, 1.5, 4, *SHARED),
}


@pytest.mark.parametrize("tab", sorted(TABS))
def test_each_tab_writes_the_cli_run_folder_and_its_records_remake_the_images(tab, app, tmp_path):
    yields, last = finish(TABS[tab](app))
    run = run_folder(last[-1])
    assert (run / "config.json").is_file() and run.parent == app.root
    recs = records(run)
    assert recs and all((run / r["image"]).is_file() for r in recs)
    assert f"`{run}`" in last[-1] and recs[0]["command"] in last[-1]  # the page shows both command lines
    first = recs[0]
    assert remade(first, tmp_path / "again") == (run / first["image"]).read_bytes()
    if tab == "hybrid":
        assert (first["kernel_size"], first["sigma"]) == (9, 1.5)
    if tab != "denoise":  # every tab with a live view streams x_t above x̂0 before its results
        assert any(isinstance(y[0], Image.Image) for y in yields[:-1])


def test_empty_steps_leave_the_command_its_default(app):
    _, (_, gallery, info) = finish(callbacks.sample(app, MODEL, "3", 5.0, None, "default", 0, 1))
    assert "--steps" not in info.split("alone")[0]  # not on the run's command line
    assert records(run_folder(info))[0]["steps"] is not None


def test_sample_gallery_shows_every_image_with_seed_and_prompt(app):
    _, (_, gallery, info) = finish(callbacks.sample(app, MODEL, "3\n7", 5.0, STEPS, "default", 10, 2))
    assert [caption for _, caption in gallery] == ["seed 10 · 3", "seed 11 · 3", "seed 12 · 7", "seed 13 · 7"]
    assert all(Path(path).is_file() for path, _ in gallery)


def test_inpaint_mask_is_the_painted_layer(app):
    _, last = finish(callbacks.inpaint(app, MODEL, editor(canvas_with_stroke(), [painted_layer()]), "",
                                       0, 1, 1, *SHARED))
    mask = np.asarray(Image.open(run_folder(last[-1]) / "mask.png").convert("L")) > 127
    expected = np.zeros((28, 28), bool)
    expected[9:19, 9:19] = True  # the 100-px square at 90…190 of 280 px, at 28 px
    assert (mask == expected).mean() > 0.95


def test_anagram_shows_each_view_and_an_animation_that_ends_in_the_view(app):
    _, (_, gallery, animation, info) = finish(callbacks.anagram(app, MODEL, "2\n5", ["identity", "flip"], *SHARED))
    assert [caption for _, caption in gallery] == ["seed 0 · identity: 2", "seed 0 · flip: 5"]
    first, flipped = (np.asarray(picture) for picture, _ in gallery)
    assert np.array_equal(flipped, first[::-1])
    with Image.open(animation) as gif:
        assert gif.n_frames > 10


@pytest.mark.parametrize("call, message", [
    (lambda app: callbacks.sdedit(app, MODEL, editor(canvas_with_stroke()), "", "1,99", "", *SHARED), "i_start"),
    (lambda app: callbacks.inpaint(app, MODEL, editor(canvas_with_stroke(), [painted_layer((100, 100))]), "",
                                   0, 1, 1, *SHARED), "the mask is 100x100 but the image is 280x280"),
    (lambda app: callbacks.inpaint(app, MODEL, editor(canvas_with_stroke()), "", 0, 1, 1, *SHARED), "paint"),
    (lambda app: callbacks.anagram(app, MODEL, "", ["identity", "flip"], *SHARED), "one prompt per view"),
    (lambda app: callbacks.sample(app, MODEL, "a cat", *SHARED), "unknown class 'a cat'"),
    (lambda app: callbacks.denoise(app, MODEL, None, "", "", "", STEPS, "default", 0, 1), "give an image"),
    (lambda app: callbacks.sample(app, "no-such-model", "3", *SHARED), "unknown model"),
    (lambda app: callbacks.inpaint(app, MODEL, editor(canvas_with_stroke(), [painted_layer()]), "",
                                   None, 1, 1, *SHARED), "the start index must be a whole number"),
    (lambda app: callbacks.hybrid(app, MODEL, "8", "3", "color", None, None, 4, *SHARED), "colour model"),
    (lambda app: callbacks.sample(app, MODEL, "3", 5.0, STEPS, "nope", 0, 1), "invalid choice: 'nope'"),
])
def test_bad_input_is_a_message_in_the_page_and_leaves_no_run_folder(call, message, app):
    with pytest.raises(gr.Error) as caught:
        finish(call(app))
    assert message in caught.value.message and "Traceback" not in caught.value.message
    assert not app.root.exists() or not [p for p in app.root.iterdir() if p.name != "inputs"]


def test_two_sessions_at_once_write_their_own_folders_and_the_same_images(app):
    class Session:
        def __init__(self, name):
            self.session_hash = name
    results = {}

    def run(name):
        results[name] = finish(callbacks.sample(app, MODEL, "5", 5.0, STEPS, "default", 3, 2,
                                                request=Session(name)))[1]
    threads = [threading.Thread(target=run, args=(name,)) for name in ("tab-a", "tab-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    folders = [run_folder(results[name][-1]) for name in ("tab-a", "tab-b")]
    assert folders[0] != folders[1]
    for image in ("sample-seed3.png", "sample-seed4.png"):
        assert (folders[0] / image).read_bytes() == (folders[1] / image).read_bytes()


def test_cancel_stops_the_job_at_its_next_step(app):
    generator = callbacks.sample(app, MODEL, "3", 5.0, 400, "default", 0, 1)
    next(generator)  # the first live picture: the job is running
    cancel(app, "sample")
    with pytest.raises(gr.Error, match="cancelled"):
        list(generator)
    run = next(app.root.glob("sample-*"))
    assert not (run / "records.jsonl").exists() and not app.jobs


def test_a_text_model_takes_text_prompts(tmp_path):
    """A text-to-image model in IF's format (a tiny random one): prompts are text, records still remake."""
    pytest.importorskip("diffusers")
    pytest.importorskip("transformers")
    from models.tiny_if import make_tiny_if

    model = str(make_tiny_if(tmp_path / "if"))
    app = App(root=tmp_path / "runs", model=model)
    shared = (7.0, 3, "default", 0, 1)
    _, (_, gallery, info) = finish(callbacks.sample(app, model, "a photo of a dog", *shared))
    assert gallery[0][1] == "seed 0 · a photo of a dog"
    _, (_, views, _, info) = finish(callbacks.anagram(app, model, "a dog\nan old man", ["identity", "rot180"], *shared))
    assert [caption for _, caption in views] == ["seed 0 · identity: a dog", "seed 0 · rot180: an old man"]
    run = run_folder(info)
    first = records(run)[0]
    assert remade(first, tmp_path / "again") == (run / first["image"]).read_bytes()

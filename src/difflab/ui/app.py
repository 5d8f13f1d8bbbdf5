"""The page: a model picker, the shared sampling settings, and one tab per procedure (Gradio Blocks).

Layout only: every button calls a generator from `callbacks` bound to this app's `App`; the model
picker refreshes what depends on the model (its description, the course's γ, the views that pass
`check_view`, a blank sketch canvas and an example image to paint a mask on).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image

from .. import defaults
from ..commands._common import load_input
from ..data import builtin_image_names, to_pil
from ..errors import UserError
from ..illusions.views import VIEWS, check_view, get_view
from ..models.registry import builtin_models
from . import callbacks
from .jobs import flag_choices
from .running import App, cancel, scaled

CANVAS = 280  # pixels of the sketch pad and of the example picture to paint a mask on
CSS = ("img { image-rendering: pixelated; } .difflab-small img { width: auto !important; } "
       "pre, pre code { white-space: pre-wrap !important; word-break: break-all; }")  # long command lines wrap
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def model_names(current: str) -> list[str]:
    names = [n for n in builtin_models() if not n.startswith("classifier")]
    return names if current in names else [current, *names]


def summary(model) -> str:
    c, h, w = model.image_shape
    kind = {"class": "class-conditioned: a prompt is a class name or index (" +
                     ", ".join(getattr(model, "class_names", ())[:10]) + ")",
            "text": "text-conditioned: a prompt is any text",
            "none": "unconditional: it takes no prompt (anagrams and hybrids need a conditioned model)"}
    return (f"{c}×{h}×{w} images on a {model.path.kind} path, predicting {model.prediction_type}; "
            f"{kind.get(model.condition_kind, model.condition_kind)}.")


def usable_views(model) -> list[str]:
    """The views (default arguments) that pass `check_view` on this model's images."""
    names = []
    for name in VIEWS:
        try:
            check_view(get_view(name), tuple(model.image_shape))
        except UserError:
            continue
        names.append(name)
    return names


def example_spec(model) -> str:
    """A picture to start from: a test digit of the model's own dataset, else a photo (or a drawing)."""
    if getattr(getattr(model, "spec", None), "dataset", None):
        return "digit:3"
    return "builtin:astronaut" if "astronaut" in builtin_image_names() else "sketch:house"


def example_picture(model) -> Image.Image:
    return scaled(to_pil(load_input(example_spec(model), model), model.value_range).convert("RGB"), CANVAS)


def blank_canvas(model) -> Image.Image:
    """Black for grey (MNIST-like: white digits on black) models, white for colour ones."""
    return Image.new("RGB", (CANVAS, CANVAS), "black" if model.image_shape[0] == 1 else "white")


def editor_value(picture: Image.Image) -> dict:
    return {"background": picture, "layers": [], "composite": picture}


def bind(app: App, fn):
    """fn(app, …) as a Gradio handler: the same parameters without `app`, a progress bar added."""
    signature = inspect.signature(fn)
    params = [p.replace(default=gr.Progress()) if p.name == "progress" else p
              for p in list(signature.parameters.values())[1:]]

    @functools.wraps(fn)
    def handler(*args, **kwargs):
        yield from fn(app, *args, **kwargs)
    handler.__signature__ = signature.replace(parameters=params)
    return handler


def _buttons(tab: str) -> tuple[gr.Button, gr.Button]:
    with gr.Row():
        return (gr.Button("Run", variant="primary", elem_id=f"{tab}-run"),
                gr.Button("Cancel", variant="stop", elem_id=f"{tab}-cancel"))


def _wire(app: App, tab: str, buttons, fn, inputs: list, outputs: list) -> None:
    """Run streams fn's yields into outputs (two jobs at once over all tabs and sessions, the rest queue);
    Cancel stops this session's job on this tab."""
    run, stop = buttons
    results = [c for c in outputs if c.elem_id != f"{tab}-live"]  # the progress bar covers these, not the live view
    event = run.click(bind(app, fn), inputs, outputs, concurrency_limit=2, concurrency_id="difflab-jobs",
                      show_progress_on=results)

    def stop_job(request: gr.Request):
        cancel(app, tab, request)
    stop.click(stop_job, None, None, cancels=[event])


def _live(tab: str):
    return gr.Image(label="the process: x_t (top) and its x̂0 (bottom)", elem_id=f"{tab}-live", height=300)


def _results(tab: str, label: str, columns: int):
    return (_live(tab), gr.Gallery(label=label, columns=columns, elem_id=f"{tab}-gallery"),
            gr.Markdown(elem_id=f"{tab}-info"))


@dataclass
class Shared:
    """The widgets at the top of the page, read by every tab."""

    model: gr.Dropdown
    guidance: gr.Number
    steps: gr.Number
    sampler: gr.Dropdown
    seed: gr.Number
    num: gr.Number

    @property
    def sampling(self) -> list:  # in the order the callbacks take them, after their own inputs
        return [self.guidance, self.steps, self.sampler, self.seed, self.num]


def _top(app: App, model) -> tuple[Shared, gr.Markdown]:
    gr.Markdown("## difflab — diffusion in the browser\nEvery run writes a run folder exactly as the "
                "`difflab` command does and shows the command line that remakes it.")
    with gr.Row():
        picked = gr.Dropdown(model_names(app.model), value=app.model, label="Model", scale=1)
        about = gr.Markdown(summary(model))
    with gr.Row():
        steps = gr.Number(defaults.GRID_STEPS, label="Steps", precision=0, minimum=1, elem_id="steps")
        sampler = gr.Dropdown(["default", *flag_choices("sample", "--sampler")], value="default", label="Sampler")
        guidance = gr.Number(defaults.default_guidance(model.condition_kind), label="Guidance γ (u + γ(c − u))")
        seed = gr.Number(0, label="Seed of the first image", precision=0)
        num = gr.Number(1, label="Images", precision=0, minimum=1)
    return Shared(picked, guidance, steps, sampler, seed, num), about


def _sample_tab(app: App, top: Shared) -> None:
    prompts = gr.Textbox(label="Prompts, one a line (empty: unprompted)", lines=2)
    buttons = _buttons("sample")
    live, gallery, info = _results("sample", "images", 6)
    _wire(app, "sample", buttons, callbacks.sample, [top.model, prompts, *top.sampling], [live, gallery, info])


def _denoise_tab(app: App, top: Shared, model) -> None:
    with gr.Row():
        upload = gr.Image(label="image (or name one)", type="pil", sources=["upload", "clipboard"])
        with gr.Column():
            spec = gr.Textbox(example_spec(model), label="…or a named image: digit:3, builtin:camera, sketch:house")
            times = gr.Textbox(label="times t in the model's units, comma-separated (empty: ¼, ½, ¾ of the way)")
            prompt = gr.Textbox(label="prompt for the predictions (optional)")
    buttons = _buttons("denoise")
    _, gallery, info = _results("denoise", "noisy · iterative · one-step · blur", 5)
    inputs = [top.model, upload, spec, times, prompt, top.steps, top.sampler, top.seed, top.num]
    _wire(app, "denoise", buttons, callbacks.denoise, inputs, [gallery, info])


def _sdedit_tab(app: App, top: Shared, model) -> gr.ImageEditor:
    brush = gr.Brush(colors=["#ffffff", "#000000", "#d03030", "#3070d0", "#30a040"], default_size=14)
    with gr.Row():
        sketch = gr.ImageEditor(editor_value(blank_canvas(model)), label="draw, or upload a photo", type="pil",
                                brush=brush, canvas_size=(CANVAS, CANVAS), elem_id="sdedit-sketch",
                                sources=["upload", "clipboard"], transforms=[], layers=False)
        with gr.Column():
            spec = gr.Textbox(label="…or a named image instead (digit:3, builtin:camera)")
            levels = gr.Textbox(",".join(map(str, defaults.SDEDIT_LEVELS)), elem_id="sdedit-levels",
                                label="i_start levels (larger = closer to the input)")
            prompt = gr.Textbox(label="prompt (optional: image-to-image towards it)")
    buttons = _buttons("sdedit")
    outputs = list(_results("sdedit", "original, then each i_start", 7))
    _wire(app, "sdedit", buttons, callbacks.sdedit, [top.model, sketch, spec, levels, prompt, *top.sampling], outputs)
    return sketch


def _inpaint_tab(app: App, top: Shared, model) -> gr.ImageEditor:
    with gr.Row():
        editor = gr.ImageEditor(editor_value(example_picture(model)), type="pil", elem_id="inpaint-editor",
                                label="paint the region to regenerate (the brush layer is the mask)",
                                brush=gr.Brush(colors=["#ff00ff"], default_size=24), transforms=[],
                                sources=["upload", "clipboard"], layers=False)
        with gr.Column():
            prompt = gr.Textbox(label="prompt (optional)")
            i_start = gr.Number(0, label="start index (0: from pure noise)", precision=0, minimum=0)
            jump = gr.Number(1, label="RePaint jump (steps)", precision=0, minimum=1)
            resample = gr.Number(1, label="RePaint resampling (repeats)", precision=0, minimum=1)
    buttons = _buttons("inpaint")
    outputs = list(_results("inpaint", "original, mask, hole, results", 6))
    inputs = [top.model, editor, prompt, i_start, jump, resample, *top.sampling]
    _wire(app, "inpaint", buttons, callbacks.inpaint, inputs, outputs)
    return editor


def _anagram_tab(app: App, top: Shared, model) -> gr.Dropdown:
    with gr.Row():
        prompts = gr.Textbox(label="one prompt per view, one a line, in the views' order", lines=2,
                             elem_id="anagram-prompts")
        views = gr.Dropdown(usable_views(model), value=["identity", "flip"], multiselect=True,
                            label="views (only those that pass check_view)")
    buttons = _buttons("anagram")
    live = _live("anagram")
    with gr.Row():
        gallery = gr.Gallery(label="the image through each view", columns=4, scale=2, elem_id="anagram-gallery")
        turning = gr.Image(label="turning through the view", elem_id="anagram-turning", scale=1)
    info = gr.Markdown(elem_id="anagram-info")
    _wire(app, "anagram", buttons, callbacks.anagram, [top.model, prompts, views, *top.sampling],
          [live, gallery, turning, info])
    return views


def _hybrid_tab(app: App, top: Shared) -> None:
    with gr.Row():
        far = gr.Textbox(label="far prompt (low frequencies)")
        near = gr.Textbox(label="near prompt (high frequencies)")
        factor = gr.Radio(flag_choices("illusion hybrid", "--factor"), value="lowpass", label="split")
    with gr.Row():
        kernel = gr.Number(0, label="blur kernel (0: 33 at 64 px, scaled)", precision=0, minimum=0)
        sigma = gr.Number(0, label="blur σ (0: 2 at 64 px, scaled)", minimum=0)
        small = gr.Number(4, label="how many times smaller from afar", precision=0, minimum=1)
    buttons = _buttons("hybrid")
    live = _live("hybrid")
    with gr.Row():
        full = gr.Image(label="close up", scale=3)
        tiny = gr.Image(label="from afar", elem_classes=["difflab-small"], scale=1)
    info = gr.Markdown(elem_id="hybrid-info")
    inputs = [top.model, far, near, factor, kernel, sigma, small, *top.sampling]
    _wire(app, "hybrid", buttons, callbacks.hybrid, inputs, [live, full, tiny, info])


def build(app: App) -> gr.Blocks:
    model = app.load(app.model)
    with gr.Blocks(title="difflab", analytics_enabled=False) as page:  # nothing leaves this machine
        top, about = _top(app, model)
        with gr.Tabs():
            with gr.Tab("Sample", id="sample"):
                _sample_tab(app, top)
            with gr.Tab("Denoise", id="denoise"):
                _denoise_tab(app, top, model)
            with gr.Tab("SDEdit", id="sdedit"):
                sketch = _sdedit_tab(app, top, model)
            with gr.Tab("Inpaint", id="inpaint"):
                editor = _inpaint_tab(app, top, model)
            with gr.Tab("Anagram", id="anagram"):
                views = _anagram_tab(app, top, model)
            with gr.Tab("Hybrid", id="hybrid"):
                _hybrid_tab(app, top)
        top.model.change(functools.partial(refresh, app), top.model, [about, top.guidance, views, sketch, editor])
    return page


def refresh(app: App, name: str):
    """What changes with the model: its description, γ, usable views, the sketch pad and the mask picture."""
    model = app.load(name)
    views = usable_views(model)
    return (summary(model), defaults.default_guidance(model.condition_kind),
            gr.update(choices=views, value=[v for v in ("identity", "flip") if v in views]),
            editor_value(blank_canvas(model)), editor_value(example_picture(model)))


def launch(app: App, host: str = "127.0.0.1", port: int | None = None, share: bool = False) -> None:
    """Serve the page until Ctrl-C (loopback unless `host` says otherwise; a public link only with share=True)."""
    page = build(app)
    page.queue(default_concurrency_limit=2)
    page.launch(server_name=host, server_port=port, share=share, allowed_paths=[str(Path(app.root).resolve())],
                theme=THEME, css=CSS, quiet=True, prevent_thread_lock=True)
    print(f"difflab ui: {page.local_url} (run folders in {app.root}/; Ctrl-C stops)"
          + (f"\npublic link: {page.share_url}" if share and page.share_url else ""), flush=True)
    page.block_thread()

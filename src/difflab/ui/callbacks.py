"""One callback per tab: widget values → the `difflab` command line → its run folder → the page.

Each callback builds the argv the CLI would take, runs it through the CLI's own `run` function
(`running.run_job`), and shows what the run folder holds. Only what the page adds is checked here
(an image to work on, prompts given one a line); everything else — an out-of-range i_start, a
mask of the wrong size, an unknown class — is the command's own check, shown as its message.
Every callback is a generator whose yields fill its tab's outputs in order.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
from PIL import Image

from ..commands._common import parse_list
from ..errors import UserError
from ..illusions.anagrams import view_clean
from ..illusions.views import get_view
from ..data import to_pil
from .animation import save_turning_gif
from .jobs import new_out, read_records, save_input
from .running import (App, describe, grid_steps, lines, model_flags, problem, run_job, scaled, tensor_of,
                      whole)

SKIP = gr.skip
CLOSE_UP = 256  # pixels high of a hybrid seen close up; from afar it is `--small` times smaller


def _levels(text: str, what: str) -> list[int]:
    try:
        return parse_list(text, int, what)
    except UserError as err:
        raise problem(str(err)) from None


def _image_flag(app: App, image, spec: str | None, what: str = "an image") -> list[str]:
    """--image: a named input (digit:3, builtin:camera, a path) if given, else the uploaded/drawn picture."""
    if spec and spec.strip():
        return ["--image", spec.strip()]
    if isinstance(image, dict):  # an ImageEditor value: what the user sees is the composite
        image = image.get("composite")
    if image is None:
        raise problem(f"give {what}: upload or draw one, or name one such as digit:3")
    return ["--image", save_input(_as_pil(image), app.root)]


def _as_pil(image) -> Image.Image:
    return image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))


def _prompt_flags(prompts: list[str]) -> list[str]:
    return [arg for p in prompts for arg in ("--prompt", p)]


def sample(app: App, model, prompts, guidance, steps, sampler, seed, num, request: gr.Request = None,
           progress=None):
    """Sample tab → (live view, gallery, run description)."""
    given = lines(prompts)
    flags = model_flags(model, steps, sampler, guidance, seed, num, new_out(app.root, "sample")) + _prompt_flags(given)
    expected = max(1, len(given)) * int(num) * grid_steps(steps)
    job = yield from run_job(app, "sample", ["sample"], flags, request, progress, expected,
                             live=lambda picture: (picture, SKIP(), SKIP()))
    gallery = [(str(job.out / r["image"]), f"seed {r['seed']}" + (f" · {r['prompt']}" if r["prompt"] else ""))
               for r in read_records(job.out)]
    yield SKIP(), gallery, describe(job)


def denoise(app: App, model, image, spec, times, prompt, steps, sampler, seed, num, request: gr.Request = None,
            progress=None):
    """Denoise tab → (gallery of noisy / iterative / one-step / blur with PSNRs, run description)."""
    flags = _image_flag(app, image, spec) + model_flags(model, steps, sampler, None, seed, num,
                                                        new_out(app.root, "denoise"))
    flags += ["--t", times.strip()] if times and times.strip() else []
    flags += ["--prompt", prompt.strip()] if prompt and prompt.strip() else []
    job = yield from run_job(app, "denoise", ["denoise"], flags, request, progress, 3 * int(num) * grid_steps(steps))
    gallery = [(str(job.out / "original.png"), "original")]
    gallery += [(str(job.out / r["image"]), f"{r['procedure'].split('/')[1]} · t={r['t']:g} · {r['psnr']:.2f} dB")
                for r in read_records(job.out)]
    yield gallery, describe(job)


def sdedit(app: App, model, sketch, spec, levels, prompt, guidance, steps, sampler, seed, num,
           request: gr.Request = None, progress=None):
    """SDEdit tab (img2img when prompted) → (live view, gallery, run description)."""
    command = ["edit", "img2img" if prompt and prompt.strip() else "sdedit"]
    starts = _levels(levels, "i_start")
    flags = _image_flag(app, sketch, spec, "a picture to edit") + ["--i-start", ",".join(map(str, starts))]
    flags += model_flags(model, steps, sampler, guidance, seed, num, new_out(app.root, "-".join(command)))
    flags += ["--prompt", prompt.strip()] if prompt and prompt.strip() else []
    expected = int(num) * sum(max(1, grid_steps(steps) - i) for i in starts)
    job = yield from run_job(app, "sdedit", command, flags, request, progress, expected,
                             live=lambda picture: (picture, SKIP(), SKIP()))
    gallery = [(str(job.out / "original.png"), "original")]
    gallery += [(str(job.out / r["image"]), f"i_start {r['i_start']} · seed {r['seed']}")
                for r in read_records(job.out)]
    yield SKIP(), gallery, describe(job)


def mask_of(editor: dict) -> tuple[Image.Image, Image.Image]:
    """(image, mask) from an ImageEditor value: the background, and white where any layer is painted."""
    background, layers = editor.get("background"), [x for x in editor.get("layers") or [] if x is not None]
    if background is None:
        raise problem("upload an image to inpaint first")
    if not layers:
        raise problem("paint the region to regenerate with the brush")
    painted = np.zeros(np.asarray(_as_pil(layers[0])).shape[:2], dtype=bool)
    for layer in layers:
        pixels = np.asarray(_as_pil(layer).convert("RGBA"))
        if pixels.shape[:2] != painted.shape:
            raise problem(f"the mask layers differ in size: {pixels.shape[1]}x{pixels.shape[0]} and "
                           f"{painted.shape[1]}x{painted.shape[0]}")
        painted |= pixels[..., 3] > 0
    if not painted.any():
        raise problem("the mask is empty: paint the region to regenerate with the brush")
    return _as_pil(background), Image.fromarray(np.where(painted, 255, 0).astype(np.uint8), "L")


def inpaint(app: App, model, editor, prompt, i_start, jump, resample, guidance, steps, sampler, seed, num,
            request: gr.Request = None, progress=None):
    """Inpaint tab: the editor's painted layer is the mask → (live view, gallery, run description)."""
    image, mask = mask_of(editor or {})
    flags = ["--image", save_input(image, app.root), "--mask", save_input(mask, app.root, "mask"),
             "--i-start", str(whole(i_start, "start index")), "--jump", str(whole(jump, "jump")),
             "--resample", str(whole(resample, "resampling"))]
    flags += model_flags(model, steps, sampler, guidance, seed, num, new_out(app.root, "edit-inpaint"))
    flags += ["--prompt", prompt.strip()] if prompt and prompt.strip() else []
    expected = int(num) * max(1, grid_steps(steps) - int(i_start)) * max(1, int(resample))
    job = yield from run_job(app, "inpaint", ["edit", "inpaint"], flags, request, progress, expected,
                             live=lambda picture: (picture, SKIP(), SKIP()))
    gallery = [(str(job.out / f"{name}.png"), name) for name in ("original", "mask", "hole")]
    gallery += [(str(job.out / r["image"]), f"seed {r['seed']}") for r in read_records(job.out)]
    yield SKIP(), gallery, describe(job)


def anagram(app: App, model, prompts, views, guidance, steps, sampler, seed, num, request: gr.Request = None,
            progress=None):
    """Anagram tab → (live view, gallery: each seed through each view, turning animation, description)."""
    given, views = lines(prompts), list(views or [])
    if not views:
        raise problem("pick at least one view")
    if len(given) != len(views):
        raise problem(f"give one prompt per view, one a line: {len(views)} view(s) "
                       f"({', '.join(views)}) but {len(given)} prompt(s)")
    flags = ["--views", ",".join(views)] + _prompt_flags(given)
    flags += model_flags(model, steps, sampler, guidance, seed, num, new_out(app.root, "illusion-anagram"))
    job = yield from run_job(app, "anagram", ["illusion", "anagram"], flags, request, progress,
                             int(num) * grid_steps(steps), live=lambda picture: (picture, SKIP(), SKIP(), SKIP()))
    loaded, gallery, animation = app.load(model), [], None
    for record in read_records(job.out):
        image = tensor_of(job.out / record["image"], loaded)
        for name, prompt in zip(record["views"], record["prompts"]):
            seen = view_clean(get_view(name), image, loaded.value_range)
            gallery.append((scaled(to_pil(seen, loaded.value_range)), f"seed {record['seed']} · {name}: {prompt}"))
        if animation is None:
            turn = next((get_view(v) for v in record["views"] if v != "identity"), get_view(record["views"][0]))
            animation = str(save_turning_gif(image, turn, loaded.value_range,
                                             app.previews / f"{job.out.name}-{record['seed']}-turn.gif"))
    yield SKIP(), gallery, animation, describe(job)


def hybrid(app: App, model, far, near, factor, kernel, sigma, small_factor, guidance, steps, sampler, seed, num,
           request: gr.Request = None, progress=None):
    """Hybrid tab → (live view, the first image close up, the same image `small` times smaller, description)."""
    flags = ["--prompt", (far or "").strip(), "--prompt", (near or "").strip(), "--factor", factor,
             "--small", str(whole(small_factor, "'times smaller'"))]
    flags += ["--kernel", str(whole(kernel, "blur kernel"))] if kernel not in (None, "", 0) else []
    flags += ["--blur-sigma", repr(float(sigma))] if sigma not in (None, "", 0) else []
    flags += model_flags(model, steps, sampler, guidance, seed, num, new_out(app.root, "illusion-hybrid"))
    job = yield from run_job(app, "hybrid", ["illusion", "hybrid"], flags, request, progress,
                             int(num) * grid_steps(steps), live=lambda picture: (picture, SKIP(), SKIP(), SKIP()))
    first = read_records(job.out)[0]
    full, small = (Image.open(job.out / first[key]) for key in ("image", "small_image"))
    yield SKIP(), scaled(full, CLOSE_UP), scaled(small, CLOSE_UP // int(small_factor)), describe(job)

"""A1.7.x: SDEdit strips and inpainting (spec §2.9).

`sdedit_strip` serves six rows of the catalog — SDEdit of the test, own, web and drawn images
under the unprompted condition, and image-to-image translation under a prompt — which differ
only by their arguments. Every row noises its images to grid[i] for i in `defaults.SDEDIT_LEVELS`
and denoises them back; inpainting runs RePaint from pure noise with the known pixels reset.
"""

from __future__ import annotations

import torch

from ...defaults import SDEDIT_LEVELS
from ...editing import forward_noise, inpaint, iterative_denoise
from ...sampling import NoiseSource
from ..figures import grid_figure
from ..prose import paragraph
from ..section import Section
from ..tour import TourContext
from .setup import PartA, role_images, setup, single_threaded


def _edit_strip(P: PartA, x: torch.Tensor, seeds: list[int], prompt, guided: bool) -> list[torch.Tensor]:
    """SDEdit of x (N images, one seed each) at every level: noise to grid[i], denoise to clean."""
    den = P.denoiser(guided)
    cond = P.cond(prompt, x.shape[0])
    out = []
    for i in SDEDIT_LEVELS:
        t = P.grid[i]
        noise = NoiseSource(seeds)
        x_t = forward_noise(P.model.path, x, t, noise)
        out.append(iterative_denoise(den, x_t, t, P.loop_grid, noise, cond))
    return out


@single_threaded
def sdedit_strip(ctx: TourContext, section: Section, images: str, condition: str, seed_offset: int,
                 what: str) -> None:
    """A1.7a/b, A1.7.1a/b, A1.7.3a/b: the `images` role edited at every level under the `condition` role."""
    P = setup(ctx)
    specs, prompt = role_images(P, images), P.conditions(condition)
    guided = prompt is not None or P.kind == "text"
    x = torch.cat([P.image(s) for s in specs])
    seeds = ctx.seeds(len(specs), seed_offset)
    with torch.inference_mode():
        edits = _edit_strip(P, x, seeds, prompt, guided)
    rows = [torch.cat([x[k:k + 1]] + [e[k:k + 1] for e in edits]) for k in range(len(specs))]
    times = [P.t_text(P.grid[i]) for i in SDEDIT_LEVELS]
    gtext = f"CFG γ = {P.gamma}" if guided and P.gamma else "no CFG (the null class gains nothing from it)"
    section.save_figure(
        "sdedit.png", grid_figure(rows, P.range, col_labels=["original"] + [f"i={i}" for i in SDEDIT_LEVELS]),
        f"{what}: {', '.join(specs)} (row by row; seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}), "
        f"noised to i_start = {', '.join(map(str, SDEDIT_LEVELS))} of the 33-step grid (t = {', '.join(times)}) "
        f"and denoised under {P.label(prompt)}, {gtext}, {P.steps}-step loop grid.",
        records=[{"row": k + 1, "column": j + 2, "image": spec, "i_start": i, "t": P.grid[i], "condition": prompt,
                  "guidance": P.gamma if guided else None, "seed": seeds[k]}
                 for k, spec in enumerate(specs) for j, i in enumerate(SDEDIT_LEVELS)])
    section.seeds.extend(seeds)
    P.common_params(section, guided)
    section.params.update({"images": specs, "condition": P.label(prompt), "i_start": list(SDEDIT_LEVELS),
                           "t": [round(P.grid[i], 4) for i in SDEDIT_LEVELS]})
    section.paragraph = paragraph(section.id, P.key, condition=P.label(prompt))


def _mask(P: PartA, box) -> torch.Tensor:
    """A (1, 1, H, W) mask, 1 inside the (top, left, height, width) box given at 28 or 64 px."""
    scale = P.size / (28 if P.inputs.test.startswith("digit:") else 64)
    top, left, h, w = (max(1, round(v * scale)) if k >= 2 else round(v * scale) for k, v in enumerate(box))
    m = torch.zeros(1, 1, P.size, P.size)
    m[..., top:top + h, left:left + w] = 1
    return m


@single_threaded
def inpaint_images(ctx: TourContext, section: Section, images: str, seed_offset: int) -> None:
    """A1.7.2a/b: the `images` role inpainted inside its masks (the test mask, or one per own image)."""
    P = setup(ctx)
    specs = role_images(P, images)
    boxes = [P.inputs.test_mask] if images == "test" else list(P.inputs.own_masks)
    x = torch.cat([P.image(s) for s in specs])
    masks = torch.cat([_mask(P, b) for b in boxes])
    seeds = ctx.seeds(len(specs), seed_offset)
    prompt = P.conditions("unprompted")
    guided = P.kind == "text"
    with torch.inference_mode():
        out = inpaint(P.denoiser(guided), x, masks, P.loop_grid, NoiseSource(seeds), P.cond(prompt, len(specs)))
    low, high = P.range
    hole = x * (1 - masks) + low * masks
    rows = [torch.cat([x[k:k + 1], (low + (high - low) * masks[k:k + 1]).expand_as(x[k:k + 1]), hole[k:k + 1],
                       out[k:k + 1]]) for k in range(len(specs))]
    section.save_figure(
        "inpaint.png", grid_figure(rows, P.range, col_labels=["original", "mask", "hole", "inpainted"]),
        f"{', '.join(specs)}: the mask (white = regenerate), the image with the hole, and the RePaint result from "
        f"pure noise ({P.steps} steps, {P.label(prompt)}, {'CFG γ = ' + str(P.gamma) if guided else 'no CFG'}; "
        f"seeds {', '.join(map(str, seeds))}). Masks (top, left, height, width) in pixels: "
        f"{', '.join(map(str, boxes))}.",
        records=[{"row": k + 1, "image": spec, "mask": list(box), "condition": prompt, "seed": s}
                 for k, (spec, box, s) in enumerate(zip(specs, boxes, seeds))])
    section.seeds.extend(seeds)
    P.common_params(section, guided)
    section.params.update({"images": specs, "masks": [list(b) for b in boxes], "mask note": P.inputs.mask_note})
    section.paragraph = paragraph(section.id, P.key)

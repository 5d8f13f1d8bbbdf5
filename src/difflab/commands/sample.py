"""`difflab sample`: images from pure noise, with or without classifier-free guidance (spec §2.7–2.8)."""

from __future__ import annotations

import torch

from ..defaults import UNPROMPTED_TEXT
from ..editing import sample
from ..sampling import NoiseSource
from . import _common as common


def register(sub) -> None:
    parser = sub.add_parser("sample", help="generate images from pure noise (with CFG when prompted)",
                            description="Generate images from pure noise. A prompt is a text for text models "
                                        f"(default \"{UNPROMPTED_TEXT}\") and a class name or index for "
                                        "class-conditioned models (default: none, i.e. unconditional). "
                                        "--guidance 1 turns CFG off.")
    parser.add_argument("--prompt", action="append", default=None,
                        help="text or class; repeat for several (each gets --num images)")
    common.add_model_flags(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    s = common.setup(args)
    model = s.model
    prompts = [common.normalise_prompt(model, p) for p in (args.prompt or [common.default_prompt(model)])]
    common.check_work(args, len(prompts) * args.num)
    run_dir = common.start_run(s, "sample", {"prompts": prompts})
    images = []
    for k in range(len(prompts) * args.num):
        prompt, seed = prompts[k // args.num], args.seed + k
        frames = common.recorder(s)
        image = sample(common.guided(s, [prompt]), s.grid, NoiseSource([seed]), common.encode(model, prompt),
                       rule=s.rule, hook=frames, progress=s.progress(f"image {k + 1}"))
        name = common.save(run_dir, f"sample-seed{seed}.png", image, s)
        argv = common.base_argv(s, ["sample"], seed) + common.prompt_argv(model, prompt)
        common.record(run_dir, s, name, argv, procedure="sample", seed=seed, prompt=prompt,
                      **common.save_process(run_dir, f"sample-seed{seed}", frames, s))
        images.append(image)
    common.save(run_dir, "grid.png", torch.cat(images), s, nrow=args.num)
    print(f"wrote {len(images)} image(s) and grid.png to {run_dir}")
    return 0

"""`difflab upsample RUN_DIR`: DeepFloyd IF stage II on every 64-px image of a Part A run on IF.

Each image is upsampled to 256 px with its own prompts and seed, classifier-free guided. An
anagram keeps its views in stage II (they act on the image and its low-res guide alike), and a
hybrid keeps its factorization, with the blur scaled ×4 (kernel 133, σ = 8, as the reference does).
"""

from __future__ import annotations

from pathlib import Path

from .. import validate
from ..data import load_image, open_image, save_image
from ..defaults import GUIDANCE, UNPROMPTED_TEXT
from ..errors import UserError
from ..illusions.anagrams import MultiViewDenoiser
from ..illusions.hybrids import FactorizedDenoiser
from ..illusions.views import get_view
from ..models.registry import is_deepfloyd
from ..runs import append_record, inside, new_run_dir, read_jsonl, write_config
from ..upsampling import STAGE2_STEPS, upsample


def register(sub) -> None:
    p = sub.add_parser("upsample", help="DeepFloyd IF stage II: a Part A run on IF, upsampled to 256 px",
                       description=__doc__.split("\n\n", 1)[1])
    p.add_argument("run", help="a run folder of sample, edit or illusion made with --model deepfloyd-if")
    p.add_argument("--stage2", default="if-ii-l", help="if-ii-l (default), if-ii-m, a Hub id or a local folder")
    p.add_argument("--steps", type=int, default=STAGE2_STEPS,
                   help=f"stage II steps (default {STAGE2_STEPS}, the course's helper)")
    p.add_argument("--guidance", type=float, default=GUIDANCE["text"], help=f"CFG γ (default {GUIDANCE['text']:g})")
    p.add_argument("--noise-level", type=int, default=250, help="noise added to the low-res guide (default 250)")
    p.add_argument("--memory", default="auto", choices=("auto", "none", "model-offload", "sequential-offload"))
    p.add_argument("--prompt-embeds", default=None, metavar="FILE", help="precomputed prompt embeddings")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--out", default=None, help="run folder to create (default runs/upsample-<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    validate.add_allow_long(p)
    p.set_defaults(func=run)


def read_records(run_dir: Path) -> list[dict]:
    """The run's image records, each checked: made on IF, an image inside the run folder, its fields typed."""
    path = Path(run_dir) / "records.jsonl"
    if not path.is_file():
        raise UserError(f"{run_dir} is not a difflab run folder (no records.jsonl)")
    records = [r for r in read_jsonl(path) if r.get("image")]
    if not records:
        raise UserError(f"{run_dir} has no images to upsample")
    for number, record in enumerate(records, 1):
        _check_record(record, Path(run_dir), f"{path} record {number}")
    return records


def _check_record(record: dict, run_dir: Path, where: str) -> None:
    model = record.get("model")
    if not isinstance(model, str) or not is_deepfloyd(model):
        raise UserError(f"{where}: the image was made with --model {model}, not DeepFloyd IF; "
                        "stage II upsamples IF's 64-px images only")
    image = record["image"]
    if not isinstance(image, str) or not inside(run_dir, image) or not (run_dir / image).is_file():
        raise UserError(f"{where}: its image {str(image)[:80]!r} is not a file inside {run_dir}")
    prompts = record.get("prompts") or [record.get("prompt")]
    if not isinstance(prompts, list) or not all(p is None or isinstance(p, str) for p in prompts):
        raise UserError(f"{where}: its prompts are not texts")
    seed = record.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserError(f"{where}: its seed {seed!r} is not an integer")
    validate.seeds(seed, 1, f"{where}: seed")
    if record.get("procedure") == "anagram":
        views = record.get("views")
        if not isinstance(views, list) or len(views) != len(prompts):
            raise UserError(f"{where}: an anagram needs one view per prompt")
        for view in views:
            get_view(str(view))
    if record.get("procedure") == "hybrid":
        if len(prompts) != 2:
            raise UserError(f"{where}: a hybrid needs two prompts")
        kernel, sigma = record.get("kernel_size"), record.get("sigma")
        if kernel is not None:
            validate.integer(kernel, f"{where}: kernel_size", 1)
            validate.number(sigma, f"{where}: sigma", 0, low_open=True)


def prompts_of(record: dict) -> list[str]:
    """The prompts an image was made with (`defaults.UNPROMPTED_TEXT` when it was unprompted)."""
    prompts = record.get("prompts") or [record.get("prompt")]
    return [UNPROMPTED_TEXT if p is None else p for p in prompts]


def wrapper_for(record: dict, stage2, scale: int):
    """The illusion's wrapper around the guided joint denoiser, or None for a plain image."""
    procedure = record.get("procedure")
    if procedure == "anagram":
        conds = [stage2.encode([p]) for p in prompts_of(record)]
        views = [get_view(name) for name in record["views"]]
        return lambda joint: MultiViewDenoiser(joint, views, conds)
    if procedure == "hybrid":
        far, near = (stage2.encode([p]) for p in prompts_of(record))
        kernel, sigma = record.get("kernel_size"), record.get("sigma")
        if kernel:  # the blur grows with the image (×4 at 64 → 256 px: 33 → 133, σ 2 → 8), kept odd
            kernel, sigma = kernel * scale + (1 - kernel * scale % 2), sigma * scale
        return lambda joint: FactorizedDenoiser(joint, far, near, record.get("factor", "lowpass"), kernel, sigma)
    return None


def run(args) -> int:
    from ..models.deepfloyd import load_deepfloyd_stage2  # diffusers only when asked for

    validate.integer(args.steps, "--steps", 1)
    validate.work("--steps", args.steps, validate.MAX_STEPS, getattr(args, "allow_long_runs", False), "steps")
    validate.number(args.guidance, "--guidance", 0)
    validate.integer(args.noise_level, "--noise-level", 0, 999)
    validate.device(args.device)
    validate.output_folder(args.out)
    run_dir = Path(args.run)
    records = read_records(run_dir)
    # Stage II has no T5 of its own: prompts come from the run's stage I repo (and the embedding cache).
    options = {"memory": args.memory, "device": args.device, "text_encoder": records[0].get("model", "deepfloyd-if")}
    if args.prompt_embeds:
        options["prompt_embeds"] = args.prompt_embeds
    stage2 = load_deepfloyd_stage2(args.stage2, noise_level=args.noise_level, **options)
    out = new_run_dir(args.out, "upsample")
    write_config(out, {"command": "upsample", "source": str(run_dir), "stage2": args.stage2, "steps": args.steps,
                       "guidance": args.guidance, "noise_level": args.noise_level})
    for record in records:
        low = open_image(run_dir / record["image"]).size[0]
        image = load_image(run_dir / record["image"], low, (-1.0, 1.0))
        wrap = wrapper_for(record, stage2, stage2.image_shape[1] // low)
        cond = None if wrap else stage2.encode(prompts_of(record)[:1])
        big = upsample(stage2, image, cond, [int(record.get("seed", 0))], steps=args.steps,
                       guidance=args.guidance, wrap=wrap)
        name = f"{Path(record['image']).stem}-stage2.png"
        save_image(big, out / name, (-1.0, 1.0))
        append_record(out, {"image": name, "source_image": record["image"], "seed": record.get("seed", 0),
                            "prompts": prompts_of(record), "procedure": record.get("procedure"),
                            "views": record.get("views"), "stage2": args.stage2, "steps": args.steps,
                            "guidance": args.guidance, "noise_level": args.noise_level})
    print(f"wrote {len(records)} stage II image(s) to {out}")
    return 0

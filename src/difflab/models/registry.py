"""Find a model by name: the shipped course models, a model file, a run folder, or DeepFloyd IF.

Shipped models live in ``difflab/weights/<name>.safetensors`` and load offline with no download.
Anything whose name starts with "deepfloyd" or "if-", a Hugging Face id ("org/name") or a folder
holding a diffusers pipeline goes to the DeepFloyd IF adapter, the only importer of diffusers.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch

from ..checkpoints import load_model_file
from ..errors import UserError
from .course import CourseDenoiser, CourseSpec, check_model_file
from .emoji import is_emoji_spec, load_emoji_denoiser
from .hub import is_hub_id
from .unet import CourseUNet

# Part A's model when none is named (the CLI, the tour, the page): difflab's own text-to-image model, on
# which the course's deliverables mean what they say (colour, text prompts, photos in); issue 16.
DEFAULT_MODEL = "emoji"


def weights_dir() -> Path:
    return Path(str(resources.files("difflab") / "weights"))


def builtin_models() -> dict[str, Path]:
    """Shipped model files by name (file stem)."""
    folder = weights_dir()
    return {p.stem: p for p in sorted(folder.glob("*.safetensors"))} if folder.is_dir() else {}


def shipped_run(recipe: str) -> dict[int, Path]:
    """{epoch: model file} of the Part B run of `recipe` shipped as snapshots in weights/partb
    (``<recipe>-epoch-NNN.safetensors``; the last one also holds the run's losses and metrics)."""
    folder = weights_dir() / "partb"
    files = sorted(folder.glob(f"{recipe}-epoch-[0-9][0-9][0-9].safetensors")) if folder.is_dir() else []
    return {int(p.stem.rsplit("-", 1)[1]): p for p in files}


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_model_file(name_or_path: str) -> Path:
    """A shipped name, a .safetensors file, or a run folder (its final model.safetensors)."""
    shipped = builtin_models()
    if name_or_path in shipped:
        return shipped[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.is_dir() and (path / "model.safetensors").is_file():
        return path / "model.safetensors"
    if path.is_file():
        return path
    if path.is_dir():
        raise UserError(f"{path} holds no model.safetensors: not a finished training run (or a model folder)")
    if "/" in name_or_path or "\\" in name_or_path or path.suffix:
        raise UserError(f"no model file or run folder at {path}")
    names = ", ".join(n for n in shipped if not n.startswith("classifier")) or "none shipped"
    raise UserError(f"unknown model {name_or_path!r}: give a shipped name ({names}), deepfloyd-if, "
                    f"a .safetensors model file or a run folder")


def load_course_model(name_or_path: str, device=None) -> tuple[CourseUNet, CourseSpec, dict]:
    """(net in eval mode, spec, records) of a course model file."""
    state, spec_dict, records = load_model_file(resolve_model_file(name_or_path), check=check_model_file)
    spec = CourseSpec.from_dict(spec_dict)
    net = CourseUNet.from_config(spec.unet)
    net.load_state_dict(state)
    return net.to(device or default_device()).eval(), spec, records


def is_deepfloyd(name: str) -> bool:
    """IF's aliases, a DeepFloyd/… id or a diffusers folder, or any other Hub id ("org/name") not on disk."""
    from .deepfloyd import is_deepfloyd as names_if  # cheap: diffusers is imported lazily there

    return names_if(name) or is_hub_id(name)


def load_denoiser(name_or_path: str = DEFAULT_MODEL, device=None, **deepfloyd_options):
    """Any model behind the Denoiser protocol."""
    if is_deepfloyd(name_or_path):
        from .deepfloyd import load_deepfloyd  # diffusers is imported only here
        return load_deepfloyd(name_or_path, device=device, **deepfloyd_options)
    file = resolve_model_file(name_or_path)
    name = name_or_path if name_or_path in builtin_models() else Path(name_or_path).stem
    state, spec_dict, _ = load_model_file(file)
    if is_emoji_spec(spec_dict):  # difflab's own text-to-image model (models/emoji.py)
        return load_emoji_denoiser(state, spec_dict, device=device or default_device(), name=name)
    net, spec, _ = load_course_model(name_or_path, device)
    if spec.objective not in ("ddpm", "flow"):
        raise UserError(f"{name_or_path} is a one-step {spec.objective} model, not a diffusion or flow model; "
                        f"it serves `difflab denoise` only")
    return CourseDenoiser(net, spec, device=device or default_device(), name=name)

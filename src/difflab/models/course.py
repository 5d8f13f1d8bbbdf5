"""The course's Part B models behind the Denoiser protocol.

A `CourseSpec` says how a trained `CourseUNet` is used:

* objective "ddpm" (fall 2024): ε-prediction on the linear path, T = 300, the net sees t/T;
* objective "flow" (fall 2025): velocity prediction on the flow path, the net sees t ∈ [0, 1];
* objective "denoise" / "pure-noise" (Part B §1.2): a one-shot denoiser z ↦ x̂, not a path model.

Images are MNIST-like, (N, 1, 28, 28) in [0, 1] (spec §1.4). Class conditions are one-hot rows;
the all-zero row is the null class that classifier-free guidance uses (spec §3.6).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from ..errors import UserError
from ..paths import FlowPath, GaussianPath, course_ddpm_path
from .protocol import ModelOutput
from .unet import CourseUNet

OBJECTIVES = ("denoise", "pure-noise", "ddpm", "flow")


@dataclass(frozen=True)
class CourseSpec:
    """How to rebuild and use a course model; stored in every model file's header."""

    objective: str
    unet: dict
    dataset: str = "mnist-5k"
    class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
    num_train_steps: int = 300
    beta_start: float = 1e-4
    beta_end: float = 0.02
    sigma: float = 0.5
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "CourseSpec":
        """The spec of a model file's header, every field checked (ValueError at the first problem)."""
        check_spec_fields(data)
        data = dict(data)
        data["class_names"] = tuple(data.get("class_names", ()))
        return cls(**data)

    def path(self) -> GaussianPath:
        if self.objective == "ddpm":
            return course_ddpm_path(self.num_train_steps, self.beta_start, self.beta_end)
        if self.objective == "flow":
            return FlowPath()
        raise ValueError(f"a {self.objective!r} model is a one-shot denoiser, not a model on a path")


_FIELD_TYPES = {"objective": str, "unet": dict, "dataset": str, "class_names": list, "num_train_steps": int,
                "beta_start": float, "beta_end": float, "sigma": float, "extra": dict}
# What a plausible course net looks like: anything larger is a corrupt or hostile header, refused
# before torch allocates it (a width of 10⁶ would ask for terabytes).
UNET_LIMITS = {"in_channels": 4, "hidden": 1024, "num_classes": 10_000, "image_size": 1024}
MAX_PARAMETERS = 500_000_000


def check_spec_fields(data) -> None:
    """Each spec field present when required, of its type, finite; nothing unknown."""
    if not isinstance(data, dict):
        raise ValueError("the spec is not a JSON object")
    missing = [key for key in ("objective", "unet") if key not in data]
    unknown = sorted(set(data) - set(_FIELD_TYPES))
    if missing or unknown:
        raise ValueError(f"the spec {'lacks ' + ', '.join(missing) if missing else 'has unknown key ' + unknown[0]}")
    for key, value in data.items():
        kind = _FIELD_TYPES[key]
        ok = isinstance(value, (int, float) if kind is float else kind) and not isinstance(value, bool)
        if not ok or (kind is float and not math.isfinite(value)):
            wanted = "finite number" if kind is float else kind.__name__
            raise ValueError(f"the spec's {key} is {str(value)[:40]!r}, not a {wanted}")
    if data["objective"] not in OBJECTIVES:
        raise ValueError(f"unknown objective {data['objective'][:40]!r}; a course model is one of "
                         f"{', '.join(OBJECTIVES)}")
    if not all(isinstance(name, str) for name in data.get("class_names", [])):
        raise ValueError("the spec's class_names must be strings")
    if not 1 <= data.get("num_train_steps", 300) <= 100_000:
        raise ValueError(f"the spec's num_train_steps {data['num_train_steps']} is not in 1..100000")


def expected_shapes(spec: CourseSpec) -> dict[str, list[int]]:
    """The tensor shapes the spec's net has, built on the meta device (nothing is allocated)."""
    config = spec.unet
    for key, high in UNET_LIMITS.items():
        values = config.get(key, 1)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise ValueError(f"the spec's unet {key} is {str(values)[:40]}, not an integer in 1..{high}")
    with torch.device("meta"):
        net = CourseUNet.from_config(config)
    if net.conditioning == "time+class" and len(spec.class_names) != net.config["num_classes"]:
        raise ValueError(f"the spec names {len(spec.class_names)} classes for a net of {net.config['num_classes']}")
    state = net.state_dict()
    if sum(t.numel() for t in state.values()) > MAX_PARAMETERS:
        raise ValueError(f"the spec's net has more than {MAX_PARAMETERS:,} weights; not a course model")
    return {name: list(t.shape) for name, t in state.items()}


def check_model_file(spec_dict: dict, shapes: dict[str, list[int]]) -> None:
    """A course model file's spec against its tensors (`checkpoints.load_model_file`'s `check`)."""
    expected = expected_shapes(CourseSpec.from_dict(spec_dict))
    missing = next((name for name in expected if name not in shapes), None)
    extra = next((name for name in shapes if name not in expected), None)
    if missing or extra:
        raise ValueError(f"missing tensor {missing}" if missing else f"unexpected tensor {extra[:80]}")
    wrong = next((name for name in expected if shapes[name] != expected[name]), None)
    if wrong:
        raise ValueError(f"tensor {wrong} has shape {shapes[wrong]}, but the spec's net needs {expected[wrong]}")


class CourseDenoiser:
    """A trained DDPM or flow-matching `CourseUNet` as a `Denoiser`."""

    value_range = (0.0, 1.0)

    def __init__(self, net: CourseUNet, spec: CourseSpec, device: str | torch.device = "cpu", name: str = ""):
        self.spec, self.name = spec, name or f"course-{spec.objective}"
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        self.path = spec.path()
        self.prediction_type = "epsilon" if spec.objective == "ddpm" else "velocity"
        size = net.config["image_size"]
        h, w = (size, size) if isinstance(size, int) else size
        self.image_shape = (net.config["in_channels"], h, w)
        self.condition_kind = "class" if net.conditioning == "time+class" else "none"
        self.class_names = spec.class_names

    @torch.no_grad()
    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None) -> ModelOutput:
        model_time = self.path.model_time(t).to(self.device)  # t/T for DDPM (spec B.1), t for flow
        c = cond.to(self.device, torch.float32) if self.condition_kind == "class" else None
        out = self.net(x_t.to(self.device, torch.float32), model_time, c)
        return ModelOutput(out.to(x_t.device))

    def encode(self, conditions: Sequence[str | int | None]) -> Tensor | None:
        """One-hot rows (N, K); None or "" → the zero row (no class). A class is an index or a name."""
        if self.condition_kind == "none":
            if any(c not in (None, "") for c in conditions):
                raise UserError(f"{self.name} is unconditional; it takes no class or prompt")
            return None
        rows = torch.zeros(len(conditions), len(self.class_names))
        for i, c in enumerate(conditions):
            if c not in (None, ""):
                rows[i, self.class_index(c)] = 1.0
        return rows.to(self.device)

    def class_index(self, value: str | int) -> int:
        names = [n.lower() for n in self.class_names]
        text = str(value).strip().lower()
        if text in names:
            return names.index(text)
        if text.lstrip("-").isdigit() and 0 <= int(text) < len(names):
            return int(text)
        raise UserError(f"unknown class {value!r} for {self.name}; choose one of: {', '.join(self.class_names)}")

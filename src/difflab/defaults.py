"""The course's default numbers, in one place: the CLI, the tour, evaluation and the UI read them here.

Each value cites where the project fixes it; a command's ``--help`` shows the same value.
"""

from __future__ import annotations

from typing import Literal

ConditionKind = Literal["none", "class", "text"]

# Spec §2.5: "a high quality photo" is the course's "null-ish" prompt for text models (IF);
# class models go unprompted with the null (all-zero) class.
UNPROMPTED_TEXT = "a high quality photo"

# Classifier-free guidance γ in u + γ·(c − u): spec §2.8 (γ = 7 on IF) and B2.5 / B2.6-FM (γ = 5).
GUIDANCE: dict[str, float] = {"text": 7.0, "class": 5.0, "none": 1.0}

# Spec §2.6: 990 → 0 by 30 is 33 steps; every model uses N = 33 grid steps unless asked otherwise.
GRID_STEPS = 33

# Spec §2.9 (A1.7): the SDEdit / img2img start indices.
SDEDIT_LEVELS = (1, 3, 5, 7, 10, 20)

# Spec §2.6: iterative denoising starts at index 10 (t = 690 on IF).
ITERATIVE_I_START = 10

# Spec §2.3: the forward-process deliverable's noise levels, as fractions of the path (IF: t = 250/500/750).
FORWARD_FRACTIONS = (0.25, 0.5, 0.75)


# Few-step sampling (issue 11; measured in benchmarks/RESULTS.md, N = 500): per shipped model, the solver
# and grid steps with the fewest network evaluations whose classifier-FID is within 10 % of the course
# sampler's at full length (300 DDPM / 100 Euler steps) at both γ = 5 and γ = 2: mnist-flow 1.07× / 1.06×
# at 6 steps of DPM-Solver++ 2M; mnist-ddpm 0.85× / 1.09× at 4 (at γ = 2 its ODE drifts to 1.3× with more
# steps). `difflab sample` and `difflab eval` start from them; the Part A procedures (edit, denoise,
# illusion, the tour's Part A) keep the course's sampler on the GRID_STEPS grid, on which their
# deliverables and --i-start are defined. `--sampler ddpm` / `--sampler euler` is the course's sampler.
FAST_SAMPLING: dict[str, tuple[str, int]] = {"mnist-flow": ("dpm++2m", 6), "mnist-ddpm": ("dpm++2m", 4)}

# A course model trained by the user samples like the shipped model of its objective.
FAST_SAMPLING_BY_OBJECTIVE: dict[str, tuple[str, int]] = {"flow": FAST_SAMPLING["mnist-flow"],
                                                          "ddpm": FAST_SAMPLING["mnist-ddpm"]}


def fast_sampling(model) -> tuple[str, int] | None:
    """(solver, steps) of the fast default for a loaded model; None where none was measured (IF)."""
    objective = getattr(getattr(model, "spec", None), "objective", None)  # course models only (not IF, not emoji)
    if objective is None:
        return None
    return FAST_SAMPLING.get(getattr(model, "name", None)) or FAST_SAMPLING_BY_OBJECTIVE.get(objective)


def default_guidance(condition_kind: str) -> float:
    """The course's γ for a model that takes this kind of condition."""
    return GUIDANCE.get(condition_kind, 1.0)


def unprompted(condition_kind: str) -> str | None:
    """What "unprompted" means: "a high quality photo" for text models, the null class otherwise."""
    return UNPROMPTED_TEXT if condition_kind == "text" else None

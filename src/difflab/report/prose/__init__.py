"""Every paragraph of the report, in one place, keyed by deliverable and by the model that drew it.

A paragraph that says what a particular shipped model draws ("on mnist-flow the sample reads as a
6 upright and a 9 rotated") is keyed to that model's name, and is printed under no other model;
other models get neutral prose that says what the figure shows and how to read it. Lookup goes
from the most to the least specific key (`ModelKey.keys`):

    model name ("mnist-flow", "deepfloyd-if") → family ("class-flow", "class-ddpm", "text")
    → objective ("flow", "ddpm") → condition kind ("class", "text", "none") → "any"

Entries are `str.format` templates filled with the numbers a procedure measured (``{change_pct}``),
so a number in a paragraph is the number in the figure. A claim keyed to a shipped model must be
checked again by eye when that model is re-shipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from .part_a import PARAGRAPHS as _PART_A
from .part_b import PARAGRAPHS as _PART_B

PARAGRAPHS: dict[str, dict[str, str]] = {**_PART_A, **_PART_B}


@dataclass(frozen=True)
class ModelKey:
    """Who drew a figure: a shipped model's name (None for any other file), its condition kind
    ("text", "class", "none") and its objective ("ddpm", "flow"; None for IF-like text models)."""

    name: str | None = None
    kind: str = "none"
    objective: str | None = None

    def keys(self) -> list[str]:
        family = self.kind if self.objective is None else f"{self.kind}-{self.objective}"
        return list(dict.fromkeys(k for k in (self.name, family, self.objective, self.kind, "any") if k))


ANY = ModelKey()


def template(deliverable_id: str, model: ModelKey = ANY) -> str:
    """The most specific entry of `deliverable_id` for `model` (its first key that has one)."""
    entries = PARAGRAPHS[deliverable_id]
    for key in model.keys():
        if key in entries:
            return entries[key]
    raise KeyError(f"no paragraph for {deliverable_id} under any of {model.keys()}")


def paragraph(deliverable_id: str, model: ModelKey = ANY, **facts) -> str:
    """The paragraph of `deliverable_id` for `model`, filled with `facts`."""
    return template(deliverable_id, model).format(**facts).strip()


def join(*parts: str) -> str:
    """Sentences of several entries as one paragraph (empty parts dropped)."""
    return " ".join(part.strip() for part in parts if part and part.strip())

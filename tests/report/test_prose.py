"""Prose is keyed by deliverable and model: a claim checked on one shipped model is printed under no other."""

import re
from collections import defaultdict

import pytest

from difflab.report.catalog import DELIVERABLES
from difflab.report.prose import PARAGRAPHS, ModelKey, paragraph, template

MNIST_FLOW = ModelKey("mnist-flow", "class", "flow")
MNIST_DDPM = ModelKey("mnist-ddpm", "class", "ddpm")
OTHER_FLOW = ModelKey(None, "class", "flow")  # a retrained or tiny file
IF = ModelKey("deepfloyd-if", "text")
OTHER_TEXT = ModelKey(None, "text")  # an IF-format model that is not IF
MODELS = (MNIST_FLOW, MNIST_DDPM, OTHER_FLOW, IF, OTHER_TEXT, ModelKey(None, "none", "flow"))
CLAIM = re.compile(r"\bon (the shipped )?(mnist-\w+|IF)\b")


def _filled(text: str) -> str:
    return text.format_map(defaultdict(lambda: 1))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: "-".join(filter(None, m.keys()[:2])))
def test_every_deliverable_has_a_paragraph_for_every_kind_of_model(model):
    for d in DELIVERABLES:
        if d.id == "B-BW" or d.part == "A":
            assert _filled(template(d.id, model)).strip(), d.id


@pytest.mark.parametrize("model", [MNIST_DDPM, OTHER_FLOW, OTHER_TEXT, ModelKey(None, "none", "flow")],
                         ids=["mnist-ddpm", "other-flow", "other-text", "unconditional"])
def test_claims_about_a_shipped_model_are_printed_under_it_only(model):
    for d in DELIVERABLES:
        if d.part == "A":
            text = _filled(template(d.id, model))
            assert not CLAIM.search(text), (d.id, text)


def test_entries_keyed_to_a_model_name_are_what_that_model_gets():
    for sid, entries in PARAGRAPHS.items():
        for name, key in (("mnist-flow", MNIST_FLOW), ("deepfloyd-if", IF)):
            if name in entries:
                assert template(sid, key) == entries[name]
                assert template(sid, MNIST_DDPM) != entries[name]


def test_lookup_goes_from_name_to_family_to_objective_to_kind():
    assert MNIST_DDPM.keys() == ["mnist-ddpm", "class-ddpm", "ddpm", "class", "any"]
    assert IF.keys() == ["deepfloyd-if", "text", "any"]
    assert "DDPM sampler adds fresh noise" in template("A1.7a", MNIST_DDPM)
    assert "DDPM sampler" not in template("A1.7a", OTHER_FLOW)


def test_paragraphs_carry_the_measured_numbers():
    text = paragraph("A0.1", MNIST_FLOW, change_pct=12.345)
    assert "12.3% of the value range" in text
    assert paragraph("A1.7.3a", OTHER_FLOW, condition="class 8").endswith(
        "Each edit is pulled toward class 8: the early columns show it, the late ones keep the input.")

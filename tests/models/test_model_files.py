"""Model files are not trusted: every damaged or hostile file is one line naming it, exit 2.

The header (its size, JSON, spec, every tensor's name and shape) is checked before any tensor is
read, so a header asking for a width of 10⁶ fails at once instead of asking torch for terabytes.
"""

from __future__ import annotations

import json
import struct

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from safetensors.torch import load as load_bytes, save as save_bytes

from difflab.checkpoints import FORMAT, load_model_file
from difflab.errors import UserError
from difflab.models.course import check_model_file
from difflab.models.registry import load_course_model


@pytest.fixture(scope="module")
def good(model_files):
    """(state, spec) of a valid tiny flow model, to damage one thing at a time."""
    state, spec, _ = load_model_file(model_files["flow-class"])
    return state, spec


def write(path, state, spec, metadata=None):
    meta = {"format": FORMAT, "spec": spec if isinstance(spec, str) else json.dumps(spec), "records": "{}"}
    path.write_bytes(save_bytes(state, metadata=meta if metadata is None else metadata))
    return path


def damaged(good, what):
    state, spec = dict(good[0]), json.loads(json.dumps(good[1]))
    first = next(k for k, v in state.items() if v.is_floating_point())  # NaN needs a float tensor
    if what == "wrong shape":
        state[first] = torch.zeros(3, 3)
    elif what == "missing tensor":
        del state[first]
    elif what == "extra tensor":
        state["surprise.weight"] = torch.zeros(1)
    elif what == "corrupt spec":
        spec = "{not json"
    elif what == "spec not an object":
        spec = "[1, 2]"
    elif what == "unknown objective":
        spec["objective"] = "magic"
    elif what == "extra spec key":
        spec["colour"] = "blue"
    elif what == "width 10**6":
        spec["unet"]["hidden"] = 10 ** 6
    elif what == "image size 10**6":
        spec["unet"]["image_size"] = 10 ** 6
    elif what == "string width":
        spec["unet"]["hidden"] = "4"
    elif what == "nan beta":
        spec["beta_start"] = float("nan")
    elif what == "class names vs classes":
        spec["class_names"] = ["a", "b"]
    elif what == "NaN weights":
        state[first] = torch.full_like(state[first], float("nan"))
    elif what == "inf weights":
        state[first] = torch.full_like(state[first], float("inf"))
    return state, spec


CASES = ["wrong shape", "missing tensor", "extra tensor", "corrupt spec", "spec not an object", "unknown objective",
         "extra spec key", "width 10**6", "image size 10**6", "string width", "nan beta", "class names vs classes",
         "NaN weights", "inf weights"]


@pytest.mark.parametrize("what", CASES)
def test_a_damaged_model_file_is_one_line_naming_it(what, good, tmp_path, refused):
    path = write(tmp_path / "model.safetensors", *damaged(good, what))
    line = refused(["sample", "--model", str(path), "--quiet", "--steps", "2"])
    assert str(path) in line


@pytest.mark.parametrize("blob, why", [
    (b"", "empty"), (b"\x00" * 7, "shorter than a length"), (struct.pack("<Q", 2 ** 60) + b"{}", "huge header"),
    (struct.pack("<Q", 4) + b"[1]x", "header not an object"), (struct.pack("<Q", 2) + b"{}", "no metadata"),
    (b"\x80\x04pickle", "a pickle")])
def test_bytes_that_are_no_model_file_are_one_line(blob, why, tmp_path, refused):
    path = tmp_path / "model.safetensors"
    path.write_bytes(blob)
    assert str(path) in refused(["sample", "--model", str(path), "--quiet"])


def test_a_truncated_model_file_is_one_line(model_files, tmp_path, refused):
    data = model_files["flow-class"].read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:len(data) // 2])
    assert str(path) in refused(["sample", "--model", str(path), "--quiet"])


def test_the_header_is_checked_before_anything_is_allocated(good):
    """check_model_file fails on the shapes alone: nothing as big as the asked-for net is built."""
    state, spec = damaged(good, "width 10**6")
    with pytest.raises(ValueError, match="hidden"):
        check_model_file(spec, {k: list(v.shape) for k, v in state.items()})


json_values = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=12)
spec_keys = st.sampled_from(["objective", "unet", "dataset", "class_names", "num_train_steps", "beta_start",
                             "beta_end", "sigma", "extra", "other"])
unet_keys = st.sampled_from(["in_channels", "hidden", "conditioning", "time_mode", "num_classes", "image_size", "x"])


@st.composite
def specs(draw):
    """A spec near a valid one: some fields replaced by random JSON, some unet fields too."""
    spec = {"objective": draw(st.sampled_from(["flow", "ddpm", "denoise", "pure-noise", "magic"])),
            "unet": {"in_channels": 1, "hidden": 4, "conditioning": "time+class", "time_mode": "mul",
                     "num_classes": 10, "image_size": 28}}
    for key in draw(st.lists(spec_keys, max_size=3)):
        spec[key] = draw(json_values)
    if isinstance(spec.get("unet"), dict):
        for key in draw(st.lists(unet_keys, max_size=3)):
            spec["unet"][key] = draw(st.integers(-5, 2 ** 40) | json_values)
    return spec


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs(), drop=st.integers(0, 60), reshape=st.booleans())
def test_random_specs_load_or_fail_in_one_line(spec, drop, reshape, good, tmp_path):
    state = dict(good[0])
    names = list(state)
    if drop < len(names):
        if reshape:
            state[names[drop]] = torch.zeros(2, 2)
        else:
            del state[names[drop]]
    path = tmp_path / "random.safetensors"
    try:
        write(path, state, json.dumps(spec, allow_nan=True))
    except Exception:  # noqa: BLE001 - safetensors refuses some states itself; then there is nothing to load
        return
    try:
        load_course_model(str(path), device="cpu")
    except UserError as err:
        assert "\n" not in str(err) and str(path) in str(err)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=300) | st.builds(lambda n, rest: struct.pack("<Q", n) + rest,
                                                st.integers(0, 2 ** 64 - 1), st.binary(max_size=200)))
def test_random_bytes_are_never_a_model(blob, tmp_path):
    path = tmp_path / "bytes.safetensors"
    path.write_bytes(blob)
    with pytest.raises(UserError) as err:
        load_course_model(str(path), device="cpu")
    assert "\n" not in str(err.value) and str(path) in str(err.value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.dictionaries(st.text(max_size=10), json_values, max_size=5), metadata=json_values)
def test_random_safetensors_headers_are_one_line(header, metadata, tmp_path):
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    path = tmp_path / "header.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"\x00" * 16)
    with pytest.raises(UserError) as err:
        load_course_model(str(path), device="cpu")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("change", [{"feature_dim": 10 ** 6}, {"channels": [10 ** 5, 1, 1]}, {"image_size": 30},
                                    {"colour": 1}, "nan"])
def test_a_hostile_classifier_file_is_one_line(change, model_files, tmp_path, refused):
    from difflab.models.registry import builtin_models

    data = builtin_models()["classifier-mnist"].read_bytes()
    tensors = load_bytes(data)
    metadata = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])["__metadata__"]
    if change == "nan":
        next(t for t in tensors.values() if t.is_floating_point()).fill_(float("nan"))
    else:
        metadata["config"] = json.dumps({**json.loads(metadata["config"]), **change})
    path = tmp_path / "classifier.safetensors"
    path.write_bytes(save_bytes(tensors, metadata=metadata))
    assert str(path) in refused(["eval", str(model_files["flow-class"]), "--classifier", str(path), "--num", "10", "--quiet"])

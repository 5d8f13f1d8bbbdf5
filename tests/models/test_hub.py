"""Which names go to the Hub, and how an unreachable Hub or an unknown id fails: once, in one line."""

from __future__ import annotations

import pytest

import difflab.models.hub as hub
from difflab.errors import UserError


@pytest.mark.parametrize("name, is_id", [
    ("DeepFloyd/IF-I-XL-v1.0", True), ("someorg/some-model", True),
    ("runs/train-typo", False),            # ./runs exists: a mistyped run folder
    ("a/b/c", False), ("./x/y", False), ("../x", False), ("/abs/x", False), ("~/x", False),
    ("x/model.safetensors", False), ("x/weights.pt", False), ("noslash", False), ("x\\y", False)])
def test_a_name_that_looks_local_never_goes_to_the_hub(name, is_id, workdir):
    assert hub.is_hub_id(name) is is_id


class _FakeApi:
    def __init__(self, error):
        self.error, self.calls = error, 0

    def __call__(self):
        return self

    def model_info(self, source, timeout):
        self.calls += 1
        raise self.error


@pytest.fixture
def fresh(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(hub, "_probed", set())
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # other test modules set HF_HUB_OFFLINE=1 at import


def test_an_unreachable_hub_is_one_line_after_one_request(fresh, monkeypatch):
    import huggingface_hub

    api = _FakeApi(ConnectionError("[Errno -2] Name or service not known"))
    monkeypatch.setattr(huggingface_hub, "HfApi", api)
    with pytest.raises(UserError, match="cannot reach the Hugging Face Hub for org/model") as err:
        hub.resolve_source("org/model", {})
    assert api.calls == 1 and "\n" not in str(err.value)


def test_an_unknown_id_says_so(fresh, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    missing = RepositoryNotFoundError.__new__(RepositoryNotFoundError)  # its constructor wants an HTTP response
    missing.args = ("404 Client Error",)
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeApi(missing))
    with pytest.raises(UserError, match="no model org/model on the Hugging Face Hub"):
        hub.check_reachable("org/model")


def test_offline_asks_nothing(fresh, monkeypatch):
    import huggingface_hub

    api = _FakeApi(AssertionError("asked the Hub"))
    monkeypatch.setattr(huggingface_hub, "HfApi", api)
    hub.check_reachable("org/model", offline=True)
    assert api.calls == 0

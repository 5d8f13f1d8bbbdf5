"""Where pretrained weights come from: a local diffusers folder or a Hugging Face Hub repo.

Every `from_pretrained` call in difflab (IF's UNets and schedulers, the T5 encoder and tokenizer)
runs inside `loading`, which turns a missing, gated or unreachable model into one `UserError`
saying how to get access. diffusers, transformers and huggingface_hub are imported by the callers
(models/ only) when they load something, never at import time.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from pathlib import Path
from typing import Iterator, Mapping

from ..errors import UserError

LICENCE_PAGE = "https://huggingface.co/DeepFloyd/IF-I-XL-v1.0"  # accepting it accepts every IF model
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Suffixes of files, never of Hub repos: a name ending in one is a local path with a typo.
FILE_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".json", ".jsonl", ".png", ".jpg", ".npz", ".onnx")
_probed: set[str] = set()


def is_hub_id(name: str) -> bool:
    """Whether `name` can only mean a Hub repo: "org/name" that looks nothing like a local path —
    not on disk, no second separator, no file suffix, and no local folder named like the org
    (``runs/train-typo`` is a mistyped run folder when ./runs exists, never a repo)."""
    name = str(name)
    if not _HUB_ID.match(name) or name.lower().endswith(FILE_SUFFIXES):
        return False
    path = Path(name).expanduser()
    return not path.exists() and not path.parent.is_dir()


def check_reachable(source: str, offline: bool | None = None) -> None:
    """Ask the Hub once about a repo before loading from it, so that an unreachable Hub or an
    unknown id is one quiet line, not minutes of retries (skipped offline and for local folders)."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    if offline or (offline is None and constants.HF_HUB_OFFLINE) or Path(source).is_dir() or source in _probed:
        return
    if (Path(constants.HF_HUB_CACHE) / f"models--{source.replace('/', '--')}").is_dir():
        return  # downloaded before: huggingface_hub falls back to its cache
    try:
        HfApi().model_info(source, timeout=10)
    except GatedRepoError:
        pass  # the repo exists; loading gives the licence message
    except RepositoryNotFoundError:
        raise UserError(f"no model {source} on the Hugging Face Hub (or it is private and you are not "
                        "logged in); check the name, or give a local folder") from None
    except HfHubHTTPError as err:
        raise UserError(f"the Hugging Face Hub refused {source}: {str(err).splitlines()[0]}") from None
    except Exception as err:  # noqa: BLE001 - the HTTP client's connection errors (httpx or requests)
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"cannot reach the Hugging Face Hub for {source} ({reason}); check the connection, "
                        "or give a local model folder") from None
    _probed.add(source)


def resolve_source(name: str, aliases: Mapping[str, str], offline: bool | None = None) -> str:
    """An alias, an existing local folder or a Hub id → what from_pretrained gets; UserError otherwise."""
    name = str(name)
    if name.lower() in aliases:
        return aliases[name.lower()]
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if is_hub_id(name):
        check_reachable(name, offline)  # before diffusers is even imported
        return name
    raise UserError(f"no model folder at {name}: give a local DeepFloyd IF folder (with unet/ and scheduler/ "
                    f"inside), a Hugging Face id such as DeepFloyd/IF-I-XL-v1.0, or one of {', '.join(aliases)}")


def local_files(offline: bool | None) -> dict:
    """from_pretrained's keyword for `offline` (None: huggingface_hub's HF_HUB_OFFLINE decides)."""
    return {} if offline is None else {"local_files_only": offline}


def variant_for(source: str, subfolder: str) -> str | None:
    """"fp16" for Hub repos (IF ships fp16 files; they are upcast for the CPU), else what the folder has."""
    folder = Path(source) / subfolder
    if Path(source).is_dir():
        return "fp16" if any(".fp16." in f.name for f in folder.glob("*")) else None
    return "fp16"


@contextlib.contextmanager
def loading(source: str, part: str, offline: bool | None = None) -> Iterator[None]:
    """Run from_pretrained calls for `part` of `source`: hub failures become `not_available`.

    Asks the Hub about `source` first (`check_reachable`, unless offline), and hides a deprecation
    warning that diffusers/transformers trigger inside huggingface_hub on every load.
    """
    check_reachable(source, offline)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
            yield
    except _hub_errors() as err:
        raise not_available(source, part, err) from err


def _hub_errors() -> tuple[type[BaseException], ...]:
    """The exceptions from_pretrained raises for missing, gated or unreachable weights."""
    errors: list[type[BaseException]] = [OSError]
    try:
        from huggingface_hub.errors import HfHubHTTPError, HFValidationError
        errors += [HfHubHTTPError, HFValidationError]
    except ImportError:  # pragma: no cover - very old huggingface_hub
        pass
    return tuple(errors)


def not_available(source: str, part: str, err: BaseException | None = None) -> UserError:
    """The one-line error for weights that cannot be loaded: how to get access, or what the folder lacks."""
    if Path(source).is_dir():
        reason = str(err).strip().splitlines()[0] if err is not None and str(err).strip() else "files missing"
        return UserError(f"cannot load the DeepFloyd IF {part} from the folder {source}: {reason}")
    page = LICENCE_PAGE if source.startswith("DeepFloyd/") else f"https://huggingface.co/{source}"
    return UserError(f"DeepFloyd IF weights are not available here ({source}, {part}): accept the licence at {page} "
                     "while logged in, then run `hf auth login` (or set HF_TOKEN) with a read token, and run again "
                     "online once to download them.")

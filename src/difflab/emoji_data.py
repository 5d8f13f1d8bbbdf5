"""The `emoji` dataset: Noto Color Emoji glyphs rendered to small RGB images, captioned by their names.

Source: Debian's ``fonts-noto-color-emoji`` (Noto Color Emoji, SIL Open Font License 1.1); names
from the `emoji` package (CLDR short names and aliases) and `unicodedata`.

What is kept (`VOCABULARY`, 124 hand-picked emoji). The CPU budget decides: a 32-px model learns
~100 emoji in minutes and only the colours of ~1,300 in a quarter hour (issue 16), and the shipped
model trains ~2 h on one thread of a shared 2-core machine (~10–25 img/s), so it gets ~120
*visually distinct* pictures:

* kept: animals, plants, food, vehicles, buildings, weather, objects, a few faces and people —
  every staff prompt of Part A among them (old man, fire, skull, rocket, dog, cowboy hat, pencil,
  snow-capped mountain, water wave…);
* dropped: skin-tone variants (the same picture recoloured, same caption), flags (hundreds of
  small rectangles that differ in detail a 32-px image cannot hold), keycaps, letters, zodiac and
  other text-like symbols (a picture of text, not of a thing), ZWJ sequences, and near-duplicates
  (one of dog/dog face, one of the ~100 yellow smileys that differ in a mouth line).

Images: the glyph is drawn at the font's bitmap size (109 px), cropped to its alpha box, centred
in a square with a 6 % margin, composited on *white* (the paper of the course's drawings and of
IF's samples of objects; mid-grey would make negated anagram views look alike) and downsampled
with a box filter to `SIZE` px. 32 px: IF stage I is 64 px, but a 64-px UNet costs ~4× per image
and the shipped model trains on one CPU thread (issue 16's measurements). Tensors are float32
in [-1, 1] (IF's range), (N, 3, SIZE, SIZE); class i is `VOCABULARY[i]`.

The rendering is deterministic and is cached once in ``$DIFFLAB_DATA/emoji`` (default
``~/.cache/difflab/emoji``) as safetensors, written atomically; an unreadable or stale cache is
rebuilt (and said so on stderr).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write
from .errors import UserError
from .filters import highpass, lowpass

FONT_PATHS = (Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
              Path("/usr/share/fonts/noto/NotoColorEmoji.ttf"))
FONT_SIZE = 109  # the only size of the font's colour bitmaps
SIZE = 32
MARGIN = 0.06
FORMAT = "difflab-emoji-data/1"

# Hand-picked vocabulary: (emoji, extra captions beyond its CLDR name and aliases).
_PICKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the staff's Part A prompts and their neighbours
    ("👴", ("an old man", "grandfather")), ("👵", ("an old woman", "grandmother")), ("🔥", ("campfire", "flame")),
    ("💀", ("a skull",)), ("🚀", ("a rocket ship", "spaceship")), ("🐶", ("dog", "puppy")),
    ("🤠", ("a man wearing a hat", "man with a hat", "cowboy")), ("🎩", ("hat",)), ("✏️", ("a pencil",)),
    ("🏔️", ("snowy mountain", "a snowy mountain village")), ("🌊", ("waterfall", "ocean wave", "sea")),
    ("🌋", ()), ("🗻", ()), ("🏕️", ("tent by a campfire",)), ("👲", ("man with a cap",)),
    # faces and people
    ("😀", ("smiley", "happy face")), ("😂", ()), ("😍", ()), ("😎", ("cool face",)), ("😡", ("angry face",)),
    ("👻", ()), ("👽", ()), ("🤖", ()), ("🤡", ()),
    ("💩", ()), ("🎅", ()), ("🧙", ("wizard",)),
    # animals
    ("🐱", ("cat", "kitten")), ("🐭", ("mouse",)), ("🐰", ("rabbit", "bunny")), ("🦊", ()), ("🐻", ()),
    ("🐼", ()), ("🐨", ()), ("🐯", ("tiger",)), ("🦁", ()), ("🐮", ("cow",)), ("🐷", ("pig",)), ("🐸", ()),
    ("🐵", ("monkey",)), ("🐧", ()), ("🦉", ()),
    ("🐴", ("horse",)), ("🦄", ()), ("🐝", ("bee",)), ("🐛", ("caterpillar",)), ("🦋", ()),
    ("🐞", ("ladybug",)), ("🐢", ()), ("🐍", ()), ("🐙", ()), ("🦀", ()), ("🐠", ()),
    ("🐬", ()), ("🐳", ("whale",)), ("🦈", ()), ("🐊", ()), ("🐘", ()), ("🦒", ()), ("🦓", ()),
    ("🐉", ()), ("🦖", ("dinosaur",)),
    # plants
    ("🌵", ()), ("🎄", ()), ("🌴", ()), ("🌳", ("tree",)), ("🍁", ()),
    ("🍄", ()), ("🌹", ()), ("🌻", ()),
    # food and drink
    ("🍎", ("apple",)), ("🍌", ()), ("🍉", ()), ("🍇", ()), ("🍓", ()),
    ("🍍", ()), ("🍊", ("orange",)), ("🥑", ()), ("🥕", ()),
    ("🍕", ()), ("🍔", ()), ("🍟", ()), ("🌮", ()),
    ("🍩", ()), ("🎂", ()), ("🍦", ("ice cream",)),
    ("🍜", ("noodles", "ramen")), ("☕", ("coffee",)),
    # travel and places
    ("🚗", ("car",)), ("🚒", ()), ("🚲", ()),
    ("🚂", ("train",)), ("✈️", ("plane",)), ("⛵", ()),
    ("🛸", ("ufo",)), ("🏠", ()), ("🏰", ()), ("⛺", ()),
    # sky and weather
    ("🌈", ()), ("☀️", ("sun",)), ("🌙", ("moon",)), ("⭐", ()),
    ("❄️", ()), ("☃️", ()), ("🌍", ("earth", "world")), ("🪐", ("planet",)),
    # objects
    ("⚽", ()), ("🏀", ()), ("🎈", ()), ("🎁", ("gift",)),
    ("🎃", ("pumpkin",)), ("💎", ("diamond",)), ("👑", ()), ("👟", ("shoe", "sneaker")),
    ("🔑", ()),
    ("✂️", ()), ("📱", ("phone",)),
    ("💻", ("computer",)), ("⏰", ("clock",)), ("💡", ()), ("🎸", ()),
    ("📷", ()),
    ("🎯", ("target",)),
    ("❤️", ("heart", "love")),
)
VOCABULARY: tuple[str, ...] = tuple(char for char, _ in _PICKS)
_EXTRA = dict(_PICKS)


def _clean(text: str) -> str:
    return " ".join(text.strip(":").replace("_", " ").split()).lower()


def captions(char: str) -> tuple[str, ...]:
    """The emoji's name first (its CLDR short name), then aliases, its Unicode name and extras; no repeats."""
    import emoji as emoji_names  # the `emoji` package: CLDR names and GitHub-style aliases

    entry = emoji_names.EMOJI_DATA.get(char) or emoji_names.EMOJI_DATA.get(char.replace("\ufe0f", ""), {})
    found = [_clean(entry["en"])] if "en" in entry else []
    found += [_clean(alias) for alias in entry.get("alias", [])]
    base = char.replace("\ufe0f", "")
    if len(base) == 1:
        found.append(unicodedata.name(base, "").lower())
    found += list(_EXTRA.get(char, ()))
    out: list[str] = []
    for text in found:
        if text and text not in out and not any(ch.isdigit() for ch in text):  # "pencil2" is no name
            out.append(text)
    return tuple(out)


def class_names() -> tuple[str, ...]:
    """The display name of every class: its first caption (e.g. "rocket", "dog face")."""
    return tuple(captions(char)[0] for char in VOCABULARY)


def find_font() -> Path:
    for path in FONT_PATHS:
        if path.is_file():
            return path
    raise UserError("the emoji dataset needs the Noto Color Emoji font: apt-get install fonts-noto-color-emoji "
                    f"(looked for {FONT_PATHS[0]})")


def render(char: str, size: int = SIZE, font_path: Path | None = None):
    """One emoji as an RGB PIL image `size`×`size` on white (see the module docstring)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path or find_font()), FONT_SIZE)
    canvas = Image.new("RGBA", (2 * FONT_SIZE, 2 * FONT_SIZE), (255, 255, 255, 0))
    ImageDraw.Draw(canvas).text((FONT_SIZE // 4, FONT_SIZE // 4), char, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        raise UserError(f"the emoji font draws nothing for {char!r}")
    glyph = canvas.crop(box)
    side = round(max(glyph.size) / (1 - 2 * MARGIN))
    square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    square.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    return square.convert("RGB").resize((size, size), Image.Resampling.BOX)


SWAP_KERNEL, SWAP_SIGMA = 17, (1.5, 3.0)  # about the emoji model's hybrid blur (17, σ = 2)


def other_low_band(x0: torch.Tensor, pool: torch.Tensor, share: float, g: torch.Generator,
                   sigma: tuple[float, float] = SWAP_SIGMA) -> torch.Tensor:
    """About `share` of the batch x0 with its low band swapped for that of an emoji drawn from `pool`:
    highpass_σ(x0) + lowpass_σ(other), σ ~ U[sigma] (spec §2.11's split), clamped to [-1, 1]. The
    caption stays x0's: a caption names an image's details, whatever its coarse layout. Every draw
    comes from `g`, in a fixed order."""
    size, device = x0.shape[0], g.device
    chosen = torch.rand(size, generator=g, device=device) < share
    other = torch.randint(0, len(pool), (size,), generator=g, device=device)
    sigmas = sigma[0] + (sigma[1] - sigma[0]) * torch.rand(size, generator=g, device=device)
    out = x0.clone()
    for i in chosen.nonzero().flatten().tolist():
        s = float(sigmas[i])
        out[i] = (highpass(x0[i][None], SWAP_KERNEL, s) + lowpass(pool[other[i]][None], SWAP_KERNEL, s))[0]
    return out.clamp(-1, 1)


@dataclass(frozen=True)
class EmojiDataset:
    """images (N, 3, S, S) float32 in [-1, 1]; labels (N,) = class index; captions[i] of class i."""

    images: torch.Tensor
    labels: torch.Tensor
    chars: tuple[str, ...]
    captions: tuple[tuple[str, ...], ...]

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c[0] for c in self.captions)

    def __len__(self) -> int:
        return self.images.shape[0]


def cache_dir() -> Path:
    base = os.environ.get("DIFFLAB_DATA") or "~/.cache/difflab"
    return Path(base).expanduser() / "emoji"


def _key(size: int, font: Path) -> str:
    """What the rendering depends on: format, size, vocabulary, the font file and Pillow's version."""
    import PIL

    stat = font.stat()
    text = json.dumps([FORMAT, size, MARGIN, VOCABULARY, str(font), stat.st_size, PIL.__version__])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_LOADED: dict[int, EmojiDataset] = {}


def load_emoji(size: int = SIZE, folder: str | os.PathLike | None = None) -> EmojiDataset:
    """The dataset at `size` px, from the cache or rendered (and cached) once."""
    if size in _LOADED and folder is None:
        return _LOADED[size]
    font = find_font()
    key = _key(size, font)
    file = Path(folder or cache_dir()) / f"emoji-{size}px-{key}.safetensors"
    pixels = _read_cache(file, size)
    if pixels is None:
        pixels = np.stack([np.asarray(render(char, size, font)) for char in VOCABULARY])
        _write_cache(file, pixels)
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(127.5).sub(1).contiguous()
    data = EmojiDataset(images, torch.arange(len(VOCABULARY)), VOCABULARY, tuple(captions(c) for c in VOCABULARY))
    if folder is None:
        _LOADED[size] = data
    return data


def _read_cache(file: Path, size: int) -> np.ndarray | None:
    from safetensors.numpy import load_file

    if not file.is_file():
        return None
    try:
        pixels = load_file(str(file))["pixels"]
        if pixels.shape != (len(VOCABULARY), size, size, 3) or pixels.dtype != np.uint8:
            raise ValueError(f"shape {pixels.shape}")
        return pixels
    except Exception as err:  # noqa: BLE001 - any unreadable cache is rebuilt
        print(f"difflab: the emoji cache {file} is unreadable ({str(err).splitlines()[0] if str(err) else 'corrupt'}); "
              "rendering it again", file=sys.stderr)
        return None


def _write_cache(file: Path, pixels: np.ndarray) -> None:
    from safetensors.numpy import save

    try:
        with atomic_write(file, overwrite=True) as handle:
            handle.write(save({"pixels": np.ascontiguousarray(pixels)}, metadata={"format": FORMAT}))
    except UserError:
        pass  # an unwritable cache only costs rendering again next time

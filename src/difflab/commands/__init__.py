"""One module per `difflab` sub-command; each exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse


def old_spelling(parser, flag: str, action: argparse.Action) -> None:
    """Keep accepting `flag`, a renamed flag's old spelling, for one release: same destination and
    type as `action`, hidden from --help, so the argv in older records.jsonl files still replays."""
    parser.add_argument(flag, dest=action.dest, type=action.type, help=argparse.SUPPRESS, default=argparse.SUPPRESS)

"""The `difflab` command: parse, hand over to a library call, report errors as one line.

Each sub-command lives in `difflab.commands.<name>` and exposes ``register(subparsers)``, which
adds its parser and sets ``func(args) -> int``. Anything the user can fix raises `UserError` and
becomes one line on stderr with exit code 2; nothing is half-written since every file goes
through `difflab.atomic` and a command that fails removes the run folder it made
(`difflab.runs.removed_on_failure`). An I/O error that reaches this level is one line, exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UserError
from .runs import removed_on_failure

COMMANDS = ("info", "sample", "denoise", "edit", "illusion", "upsample", "train", "partb", "eval", "tour", "report",
            "ui")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="difflab", description="difflab: diffusion and flow-matching models from scratch, and every "
                     "trick of Berkeley CS180 project 5 on any model.",
                     epilog="Run `difflab COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"difflab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"difflab.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with removed_on_failure():
            return int(args.func(args) or 0)
    except UserError as err:
        print(f"difflab: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # an I/O failure no layer below turned into a UserError: still one line
        where = f" ({err.filename})" if err.filename else ""
        print(f"difflab: error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("difflab: interrupted", file=sys.stderr)
        return 130


def _one_line(err: BaseException) -> str:
    """The error's message on one line (a message quoting a file's text may hold newlines)."""
    return " ".join(str(err).split("\n")).strip()


if __name__ == "__main__":
    sys.exit(main())

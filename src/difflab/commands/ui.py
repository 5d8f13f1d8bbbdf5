"""`difflab ui`: serve the web UI on this machine (an optional extra: pip install "difflab[ui]").

One tab per procedure — Sample, Denoise, SDEdit, Inpaint, Anagram, Hybrid — each writing the run
folder its command writes and showing the command line that remakes it. It listens on 127.0.0.1
unless --host says otherwise, and makes a public Gradio share link only with --share.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import UserError
from ..models.registry import DEFAULT_MODEL


def register(sub) -> None:
    parser = sub.add_parser("ui", help="a local web page to sample, draw, paint masks and make illusions",
                            description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"the model the page starts with (default {DEFAULT_MODEL})")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=None, help="port (default: the first free one from 7860)")
    parser.add_argument("--runs", default="runs", help="folder for the run folders the page writes (default runs)")
    parser.add_argument("--share", action="store_true", help="also make a public gradio.live link (off by default)")
    parser.set_defaults(func=run)


def run(args) -> int:
    if importlib.util.find_spec("gradio") is None:
        raise UserError('the web UI needs gradio, which is not installed: pip install "difflab[ui]"')
    if args.port is not None and not 0 < args.port < 65536:
        raise UserError(f"--port must be from 1 to 65535, not {args.port}")
    from ..ui.app import launch
    from ..ui.running import App

    app = App(root=Path(args.runs), model=args.model)
    launch(app, host=args.host, port=args.port, share=args.share)
    return 0

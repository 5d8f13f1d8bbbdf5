"""`difflab tour`: every deliverable of the project into one report folder, resumable."""

from __future__ import annotations

import argparse
import sys

from .. import validate


def register(sub) -> None:
    parser = sub.add_parser(
        "tour", help="run every deliverable of the project and write one HTML report",
        description="Run the deliverables of spec §4 (Part A on --model, Part B from the shipped checkpoints "
                    "or retrained with --train) into one self-contained report folder: index.html with its "
                    "images, GIFs and JSON records. Started again on the same --out, it skips what is done.",
        epilog="--only takes IDs and prefixes: a prefix selects the IDs that continue it with a non-digit, so "
               "A1.7 selects A1.7a, A1.7b, A1.7.1a … A1.7.3b, B2.6 selects B2.6-FM and B2.6-noLR, and A1.1 "
               "selects A1.1 alone; A and B select a whole part.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", metavar="DIR", help="report folder (default: runs/tour; reused to resume)")
    parser.add_argument("--model", metavar="NAME", help="Part A model: a shipped model name or deepfloyd-if "
                        "(default: difflab's own model)")
    parser.add_argument("--only", metavar="IDS", help="comma-separated deliverable IDs or prefixes, e.g. A1.7,B2.6")
    parser.add_argument("--quick", action="store_true", help="reduced settings: fewer images and steps")
    parser.add_argument("--train", action="store_true", help="train Part B's course presets (hours on a CPU) "
                        "instead of drawing from the shipped runs' snapshots")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="the one seed of every figure (default 0)")
    parser.add_argument("--quiet", action="store_true", help="print only the path of the report")
    parser.add_argument("--list", action="store_true", help="list the deliverables and exit")
    parser.set_defaults(func=run)


TOUR_SEEDS = 10_000  # a tour draws fewer seeds than this from its --seed (seed, seed + 1, …)


def run(args) -> int:
    from ..report.catalog import DELIVERABLES, select
    from ..report.tour import run_tour
    if args.list:
        for d in select(args.only):
            state = "ready" if d.wired else f"pending: needs {d.run.what}"
            print(f"{d.id:<10} {d.part}  {d.title}  [{state}]")
        return 0
    validate.seeds(args.seed, TOUR_SEEDS)
    validate.output_folder(args.out)
    result = run_tour(args.out, model=args.model, only=args.only, quick=args.quick, train=args.train,
                      seed=args.seed, quiet=args.quiet)
    if result.failed:
        print(f"difflab: {len(result.failed)} of {len(DELIVERABLES)} deliverables failed: "
              f"{', '.join(result.failed)}; the report lists them", file=sys.stderr)
        return 1
    return 0

"""`difflab report DIR`: render a report folder's index.html again from its section files."""

from __future__ import annotations

import sys


def register(sub) -> None:
    parser = sub.add_parser("report", help="re-render a report folder's index.html (recomputes nothing)",
                            description="Build DIR/index.html from DIR/tour.json and DIR/sections/*/section.json "
                                        "alone; nothing is recomputed.")
    parser.add_argument("folder", metavar="DIR", help="a report folder made by `difflab tour`")
    parser.add_argument("--check", action="store_true", help="then fail on a section file that cannot be read or "
                        "shown, and open the page in headless Chromium: fail on a broken image, a console error "
                        "or a request that leaves the machine")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ..errors import UserError
    from ..report.render import build_page, render
    from ..report.section import SECTIONS_DIR, TOUR_FILE
    folder = Path(args.folder)
    if not (folder / TOUR_FILE).is_file() and not (folder / SECTIONS_DIR).is_dir():
        raise UserError(f"{folder} is not a report folder (it has no {TOUR_FILE} and no {SECTIONS_DIR}/)")
    index = render(folder)
    print(index)
    if args.check:
        from ..report.browser import check_page
        _, problems = build_page(folder)
        for problem in problems:
            print(f"difflab: report problem: {problem}", file=sys.stderr)
        check = check_page(index)
        print(check.summary(), file=sys.stderr if not check.ok else sys.stdout)
        return 0 if check.ok and not problems else 1
    return 0

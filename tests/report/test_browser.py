"""Open rendered reports in a real browser: Debian's headless Chromium, driven over DevTools pipes."""

import pytest
from fake_report import CATALOG

from difflab.report.browser import check_page, find_chromium
from difflab.report.render import render

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine: "
                                "apt-get install chromium (or set DIFFLAB_CHROMIUM) to run the browser test")


def test_report_loads_with_every_image_and_no_console_error(report):
    check = check_page(render(report, CATALOG))
    assert check.ok, check.summary()
    assert check.loaded and check.title.startswith("difflab")
    assert check.images == 4  # A1.1: grid + GIF, B1.2 and B2.6-FM: one grid each


def test_a_deleted_png_makes_the_check_fail(report):
    index = render(report, CATALOG)
    (report / "sections" / "B1.2" / "grid.png").unlink()
    check = check_page(index)
    assert not check.ok
    assert check.broken_images == ["sections/B1.2/grid.png"]
    assert any("ERR_FILE_NOT_FOUND" in e for e in check.console_errors), check.console_errors


def test_script_errors_and_external_requests_are_caught(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><html><head><title>t</title><link rel="icon" href="data:,"></head><body>'
                    '<script>console.error("boom"); undefinedFunction();</script>'
                    '<img src="https://example.invalid/x.png"></body></html>')
    check = check_page(page, timeout=30)
    assert any("boom" in e for e in check.console_errors)
    assert any("undefinedFunction" in e for e in check.console_errors)
    assert check.external_requests == ["https://example.invalid/x.png"] and not check.ok

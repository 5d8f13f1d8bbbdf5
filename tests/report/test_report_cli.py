import pytest

from difflab.cli import main
from difflab.report.browser import find_chromium


def test_report_command_rerenders_from_section_files(report, capsys):
    assert main(["report", str(report)]) == 0
    index = report / "index.html"
    assert capsys.readouterr().out.strip() == str(index)
    html = index.read_text()
    assert 'id="s-A1.1"' in html and "A1.7a" in html.split('id="not-run"')[1]


def test_report_command_refuses_a_folder_that_is_no_report(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a report folder" in err


def test_tour_list_and_bad_only(tmp_path, capsys):
    assert main(["tour", "--list", "--only", "B2.6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["B2.6-FM", "B2.6-noLR"]
    assert main(["tour", "--out", str(tmp_path / "r"), "--only", "Z9"]) == 2
    assert "matches no deliverable" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing is created for a bad command line


def test_report_check_fails_on_a_missing_figure(report, capsys):
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium to run the browser check")
    assert main(["report", str(report), "--check"]) == 0
    (report / "sections" / "B1.2" / "grid.png").unlink()
    assert main(["report", str(report), "--check"]) == 1
    assert "figure grid.png cannot be shown" in capsys.readouterr().err

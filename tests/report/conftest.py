"""Fixtures of the report tests."""

from __future__ import annotations

import pytest
from fake_report import fake_section

from difflab.report.section import write_status


@pytest.fixture
def report(tmp_path):
    """A report folder with three finished sections (one with a GIF and metrics) and one not run."""
    folder = tmp_path / "report"
    fake_section(folder, "B1.2", "B")
    fake_section(folder, "A1.1", "A", gif=True)
    fake_section(folder, "B2.6-FM", "B", metrics={"epoch 1": {"classifier_fid": 40.25, "classifier_fid_floor": 1.5,
                                                              "class_accuracy": 0.91},
                                                  "epoch 10": {"classifier_fid": 9.5, "classifier_fid_floor": 1.5,
                                                               "class_accuracy": 0.985}})
    write_status(folder, "A1.7a", "SDEdit", "A", "not run", "needs deepfloyd-if")
    return folder

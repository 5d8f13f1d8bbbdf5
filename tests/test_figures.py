"""Figure helpers: PNGs written atomically, never overwritten unless asked, layouts checked."""

import pytest
import torch

from difflab.errors import UserError
from difflab.figures import save_curve, save_grid, to_display


def test_to_display_clips_and_moves_channels():
    x = torch.tensor([-1.0, 0.5, 2.0]).reshape(1, 1, 1, 3)
    assert to_display(x).tolist() == [[[0.0, 0.5, 1.0]]]
    rgb = torch.zeros(2, 3, 4, 5)
    assert to_display(rgb, (-1, 1)).shape == (2, 4, 5, 3) and to_display(rgb, (-1, 1)).max() == 0.5


def test_save_grid_and_curve(tmp_path):
    images = torch.rand(6, 1, 28, 28)
    path = save_grid(images, tmp_path / "g.png", 3, col_labels=["a", "b", "c"], row_labels=["r1", "r2"], title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(UserError):
        save_grid(images, path)                      # never overwritten by accident
    save_grid(images, path, labels=list("abcdef"), overwrite=True)
    with pytest.raises(ValueError):
        save_grid(images, tmp_path / "h.png", 3, labels=["too few"])
    assert not (tmp_path / "h.png").exists()
    curve = save_curve(tmp_path / "c.png", [1, 2, 3], {"loss": [1.0, 0.5, 0.25]}, log_y=True)
    assert curve.stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "g.png"]  # no temporary files left

"""The anagram animation: it starts at the image and ends at the image seen through the view."""

import numpy as np
import pytest
import torch

from difflab.illusions.anagrams import view_clean
from difflab.illusions.views import get_view
from difflab.ui.animation import turning_frames


@pytest.mark.parametrize("name", ["flip", "rot90", "rot180", "jigsaw", "negate", "skew"])
def test_turning_animation_starts_at_the_image_and_ends_at_its_view(name):
    image = torch.rand(1, 1, 28, 28)
    frames = turning_frames(image, get_view(name), (0.0, 1.0), count=5, min_size=56)
    start, end = (torch.from_numpy(np.asarray(f, dtype=np.float32) / 255)[::2, ::2] for f in (frames[0], frames[-1]))
    assert torch.allclose(start, image[0, 0], atol=1 / 255)
    assert torch.allclose(end, view_clean(get_view(name), image, (0.0, 1.0))[0, 0], atol=1 / 255)

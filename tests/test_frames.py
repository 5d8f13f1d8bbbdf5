import pytest
import torch
from PIL import Image

from difflab.editing import sdedit
from difflab.frames import FrameRecorder, save_gif, save_strip
from difflab.paths import deepfloyd_path
from difflab.sampling import NoiseSource
from toy import PointDenoiser


def test_recorder_every_fifth_loop_from_i_start_10_and_files(tmp_path):
    model = PointDenoiser(deepfloyd_path(), torch.rand(1, 3, 8, 8))
    recorder = FrameRecorder()
    out = sdedit(model, model.target, model.path.grid(), NoiseSource([0]), i_start=10, hook=recorder)
    frames = recorder.frames(5)
    assert [f.t for f in frames] == [690, 540, 390, 240, 90, 0]  # spec §2.6 deliverable, then the result
    assert torch.equal(frames[-1].x_t, out)
    gif = save_gif(frames, tmp_path / "process.gif", (-1.0, 1.0))
    with Image.open(gif) as image:
        assert image.n_frames == 6 and image.info["loop"] == 0 and min(image.size) >= 128
    strip = save_strip(frames, tmp_path / "process.png", (-1.0, 1.0))
    with Image.open(strip) as image:
        assert image.size[0] > 6 * 8 and image.size[1] > 2 * 8


def test_a_watcher_sees_every_step_and_can_stop_the_loop_without_frames_kept():
    model = PointDenoiser(deepfloyd_path(), torch.rand(1, 3, 8, 8))
    seen = []
    watcher = FrameRecorder(keep=False, on_step=lambda state: seen.append(state.t))
    sdedit(model, model.target, model.path.grid(), NoiseSource([0]), i_start=30, hook=watcher)
    assert seen == list(model.path.grid()[30:-1]) and watcher.steps == [] and watcher.final is None

    def stop_at_second(state):
        if state.index == 31:
            raise KeyboardInterrupt  # what a cancel does: the watcher raises, the loop stops there
    recorder = FrameRecorder(on_step=stop_at_second)
    with pytest.raises(KeyboardInterrupt):
        sdedit(model, model.target, model.path.grid(), NoiseSource([0]), i_start=30, hook=recorder)
    assert [f.index for f in recorder.steps] == [30]

"""The Part A commands end to end on tiny random models: files, records, reproduction, bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from difflab.cli import main
from difflab.defaults import FAST_SAMPLING_BY_OBJECTIVE, GRID_STEPS

FAST = ["--steps", "4", "--quiet"]


def records(run):
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]


def remake(record, out):
    """Run a record's own command line into a fresh folder; return the bytes of its image."""
    argv = record["argv"][1:] + ["--out", str(out), "--quiet"]
    assert main(argv) == 0
    return (out / record["image"]).read_bytes()


def test_sample_records_remake_images_and_seeds_ignore_the_batch(tmp_path, model_files):
    model = str(model_files["ddpm-class"])
    assert main(["sample", "--model", model, "--prompt", "3", "--num", "3", "--seed", "10",
                 "--out", str(tmp_path / "a"), *FAST]) == 0
    recs = records(tmp_path / "a")
    assert [r["seed"] for r in recs] == [10, 11, 12] and all(r["prompt"] == "3" for r in recs)
    # `sample` on a course DDPM starts from the fast default solver; the record names it, so it replays.
    assert recs[1]["guidance"] == 5.0 and recs[1]["sampler"] == FAST_SAMPLING_BY_OBJECTIVE["ddpm"][0]
    assert remake(recs[1], tmp_path / "b") == (tmp_path / "a" / recs[1]["image"]).read_bytes()
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["grid"][0] == 300 and len(config["grid"]) == 5


@pytest.mark.parametrize("flags, sampler, steps", [
    ([], FAST_SAMPLING_BY_OBJECTIVE["flow"][0], FAST_SAMPLING_BY_OBJECTIVE["flow"][1]),
    (["--sampler", "euler"], "euler", GRID_STEPS),  # the course's sampler, one flag away, on the course grid
    (["--sampler", "ddim", "--eta", "0.5", "--steps", "3"], "ddim", 3)])
def test_sample_defaults_to_the_fast_solver_and_every_solver_replays(tmp_path, model_files, flags, sampler, steps):
    out = tmp_path / "a"
    assert main(["sample", "--model", str(model_files["flow-class"]), "--prompt", "2", "--out", str(out), "--quiet",
                 *flags]) == 0
    rec = records(out)[0]
    assert rec["sampler"] == sampler and rec["steps"] == steps
    assert ("--eta" in rec["argv"]) == ("--eta" in flags)
    assert remake(rec, tmp_path / "b") == (out / rec["image"]).read_bytes()


def test_edit_keeps_the_course_sampler_and_refuses_eta_without_ddim(tmp_path, model_files, capsys):
    flow = str(model_files["flow-class"])
    assert main(["edit", "sdedit", "--model", flow, "--image", "digit:3", "--i-start", "3", "--quiet",
                 "--out", str(tmp_path / "a")]) == 0
    rec = records(tmp_path / "a")[0]
    assert rec["sampler"] == "euler" and rec["steps"] == GRID_STEPS
    assert main(["sample", "--model", flow, "--sampler", "heun", "--eta", "0.3", "--out", str(tmp_path / "b")]) == 2
    assert "--eta" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_every_command_runs_and_remakes_its_images(tmp_path, model_files, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flow, ddpm = str(model_files["flow-class"]), str(model_files["ddpm-class"])
    mask = tmp_path / "mask.png"
    array = np.zeros((28, 28), np.uint8)
    array[4:14, 6:20] = 255
    Image.fromarray(array).save(mask)
    runs = {
        "denoise": ["denoise", "--model", ddpm, "--image", "digit:3", "--t", "60,150", "--gif"],
        "sdedit": ["edit", "sdedit", "--model", flow, "--image", "sketch:house", "--i-start", "1,3"],
        "img2img": ["edit", "img2img", "--model", ddpm, "--image", "digit:1", "--i-start", "2", "--prompt", "7"],
        "inpaint": ["edit", "inpaint", "--model", flow, "--image", "digit:4", "--mask", str(mask),
                    "--jump", "2", "--resample", "2"],
        "anagram": ["illusion", "anagram", "--model", flow, "--prompt", "6", "--prompt", "9", "--views",
                    "identity,rot180", "--gif"],
        "hybrid": ["illusion", "hybrid", "--model", ddpm, "--prompt", "1", "--prompt", "0", "--num", "2"],
    }
    expected = {"denoise": "panel.png", "sdedit": "strip.png", "img2img": "strip.png", "inpaint": "panel.png",
                "anagram": "anagram-seed0-views.png", "hybrid": "panel-small.png"}
    for name, argv in runs.items():
        run = tmp_path / name
        assert main(argv + FAST + ["--out", str(run)]) == 0, name
        assert (run / expected[name]).is_file() and (run / "config.json").is_file()
        recs = records(run)
        assert recs and all((run / r["image"]).is_file() for r in recs)
        last = recs[-1]
        assert remake(last, tmp_path / f"{name}-again") == (run / last["image"]).read_bytes(), name
    assert (tmp_path / "anagram" / "anagram-seed0.gif").is_file()
    with Image.open(tmp_path / "sdedit" / "strip.png") as strip, Image.open(tmp_path / "sdedit" / "original.png") as one:
        assert one.size == (28, 28) and strip.height >= 5 * 28  # figures of 28-px digits are zoomed ×5, images not
    assert {r["procedure"] for r in records(tmp_path / "denoise")} == {
        "denoise/noisy", "denoise/iterative", "denoise/one_step", "denoise/blur"}
    inpainted = np.asarray(Image.open(tmp_path / "inpaint" / "inpaint-seed0.png"))
    original = np.asarray(Image.open(tmp_path / "inpaint" / "original.png"))
    assert np.array_equal(inpainted[array == 0], original[array == 0])  # outside the mask: exactly the original


def test_unconditional_models_and_unprompted_edits(tmp_path, model_files):
    model = str(model_files["flow-uncond"])
    assert main(["sample", "--model", model, "--out", str(tmp_path / "s"), *FAST]) == 0
    assert records(tmp_path / "s")[0]["guidance"] is None
    assert main(["edit", "sdedit", "--model", model, "--image", "digit:2", "--i-start", "2",
                 "--out", str(tmp_path / "e"), *FAST]) == 0


@pytest.fixture()
def bad_inputs(tmp_path, model_files):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    grey = tmp_path / "grey.png"
    Image.fromarray(np.linspace(0, 255, 28 * 28).reshape(28, 28).astype(np.uint8)).save(grey)
    small = tmp_path / "small.png"
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(small)
    cls, uncond = str(model_files["flow-class"]), str(model_files["flow-uncond"])
    return {
        "not an image": ["edit", "sdedit", "--model", cls, "--image", str(text)],
        "mask wrong size": ["edit", "inpaint", "--model", cls, "--image", "digit:3", "--mask", str(small)],
        "mask not binary": ["edit", "inpaint", "--model", cls, "--image", "digit:3", "--mask", str(grey)],
        "rect outside": ["edit", "inpaint", "--model", cls, "--image", "digit:3", "--rect", "20,20,10,10"],
        "i_start too large": ["edit", "sdedit", "--model", cls, "--image", "digit:3", "--i-start", "4"],
        "i_start negative": ["edit", "sdedit", "--model", cls, "--image", "digit:3", "--i-start", "-1"],
        "negative guidance": ["sample", "--model", cls, "--guidance", "-1"],
        "unknown view": ["illusion", "anagram", "--model", cls, "--prompt", "1", "--prompt", "2", "--views",
                         "identity,twirl"],
        "views and prompts differ": ["illusion", "anagram", "--model", cls, "--prompt", "1", "--views",
                                     "identity,flip"],
        "class for unconditional": ["sample", "--model", uncond, "--prompt", "3"],
        "anagram on unconditional": ["illusion", "anagram", "--model", uncond, "--prompt", "", "--prompt", ""],
        "text for a class model": ["sample", "--model", cls, "--prompt", "a photo of a dog"],
        "colour hybrid on greyscale": ["illusion", "hybrid", "--model", cls, "--prompt", "1", "--prompt", "2",
                                       "--factor", "color"],
        "img2img without prompt": ["edit", "img2img", "--model", cls, "--image", "digit:3", "--prompt", ""],
        "unknown digit": ["denoise", "--model", cls, "--image", "digit:12"],
        "time out of range": ["denoise", "--model", cls, "--image", "digit:3", "--t", "1.5"],
        "unknown model": ["sample", "--model", "no-such-model"],
        "wrong sampler": ["sample", "--model", cls, "--sampler", "ddpm"],
    }


def test_bad_input_is_one_line_exit_2_and_no_run_folder(tmp_path, bad_inputs, capsys):
    for case, argv in bad_inputs.items():
        out = tmp_path / f"run-{case.replace(' ', '-')}"
        assert main(argv + FAST + ["--out", str(out)]) == 2, case
        err = capsys.readouterr().err
        assert err.startswith("difflab: error: ") and err.count("\n") == 1 and "Traceback" not in err, (case, err)
        assert not out.exists(), case


def test_eval_takes_every_step_count_sample_takes_and_runs_the_same_grid(tmp_path, model_files, monkeypatch):
    import difflab.evaluation.sampled as eval_sampling  # where `difflab eval` draws its samples

    model = str(model_files["ddpm-class"])  # T = 300: 33 steps do not divide it
    assert main(["sample", "--model", model, "--steps", "33", "--quiet", "--out", str(tmp_path / "s")]) == 0
    grid = json.loads((tmp_path / "s" / "config.json").read_text())["grid"]
    grids, loop = [], eval_sampling.sample_loop

    def spy(model, x, timesteps, *args, **kwargs):
        grids.append([float(t) for t in timesteps])
        return loop(model, x, timesteps, *args, **kwargs)

    monkeypatch.setattr(eval_sampling, "sample_loop", spy)
    assert main(["eval", model, "--num", "20", "--steps", "33", "--batch-size", "20", "--quiet",
                 "--out", str(tmp_path / "e")]) == 0
    assert grids == [grid] and grid[:2] == [297.0, 288.0] and len(grid) == 34


def test_a_record_written_with_an_old_flag_spelling_still_remakes_its_image(tmp_path, model_files):
    """Hybrids' blur σ was --sigma before it became --blur-sigma; older records.jsonl files say --sigma."""
    model = str(model_files["ddpm-class"])
    assert main(["illusion", "hybrid", "--model", model, "--prompt", "1", "--prompt", "0", "--sigma", "1.5",
                 "--out", str(tmp_path / "h"), *FAST]) == 0
    record = records(tmp_path / "h")[0]
    assert record["sigma"] == 1.5 and "--blur-sigma" in record["argv"] and "--sigma" not in record["argv"]
    old = dict(record, argv=["--sigma" if a == "--blur-sigma" else a for a in record["argv"]])
    image = (tmp_path / "h" / record["image"]).read_bytes()
    assert remake(old, tmp_path / "old") == image == remake(record, tmp_path / "new")
    other = dict(record, argv=[("2.5" if a == "1.5" else a) for a in old["argv"]])
    assert remake(other, tmp_path / "other") != image  # the old flag is read, not ignored

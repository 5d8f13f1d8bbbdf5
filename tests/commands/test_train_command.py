"""`difflab train` on the command line: bad input is one line and exit 2, with nothing written."""

import pytest

from difflab.cli import main


def code(argv):
    """main's exit status, argparse's own errors (SystemExit) included."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize("argv, words", [
    (["train", "flow", "--sigma", "-0.5"], "sigma must be"),
    (["train", "gan"], "unknown recipe or preset"),
    (["train", "flow", "--preset", "slow"], "unknown preset"),
    (["train", "flow", "--dataset", "cifar"], "unknown dataset"),
    (["train", "flow", "--epochs", "x"], "invalid int"),
    (["train", "flow", "--sample-epochs", "1,a"], "comma-separated"),
    (["train"], "name a recipe"),
    (["train", "flow", "--resume", "somewhere"], "--resume continues"),
])
def test_bad_arguments_exit_2_with_one_line(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert code(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_data_and_unwritable_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIFFLAB_DATA", str(tmp_path / "empty"))
    assert main(["train", "flow", "--dataset", "mnist", "--out", str(tmp_path / "run")]) == 2
    assert "MNIST is not in" in capsys.readouterr().err and not (tmp_path / "run").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["train", "flow", "--out", str(blocker / "run")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_resume_of_a_non_run_and_list(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "not a training run folder" in capsys.readouterr().err
    assert main(["train", "--list"]) == 0
    out = capsys.readouterr().out
    assert "course-flow-class-nolr" in out and "quick-ddpm" in out


def test_cli_trains_and_stops(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "quick-flow", "--quiet", "--out", str(run), "--hidden", "4", "--epochs", "1",
            "--train-images", "64", "--batch-size", "32", "--sample-epochs", "", "--test-images", "8",
            "--num", "2", "--sample-steps", "2", "--threads", "1"]
    assert main(argv + ["--stop-after-steps", "1"]) == 3
    assert "--resume" in capsys.readouterr().out
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert "trained run: 2 steps" in capsys.readouterr().out


def test_eval_scores_a_trained_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "quick-flow-class", "--quiet", "--out", str(run), "--hidden", "4", "--epochs", "1",
                 "--train-images", "64", "--batch-size", "32", "--sample-epochs", "", "--samples-per-class", "0",
                 "--test-images", "8", "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--num", "20", "--steps", "2", "--batch-size", "10", "--quiet",
                 "--out", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out
    assert "classifier-FID" in out and "class accuracy" in out
    assert (tmp_path / "eval" / "metrics.json").is_file() and (tmp_path / "eval" / "samples.png").is_file()
    assert code(["eval", str(run), "--num", "0"]) == 2 and "--num must be" in capsys.readouterr().err


def test_partb_figures(tmp_path, capsys):
    assert main(["partb", "noising", "--out", str(tmp_path / "noise")]) == 0
    assert (tmp_path / "noise" / "noising.png").is_file()
    assert code(["partb", "ood"]) == 2 and "needs a trained" in capsys.readouterr().err
    assert code(["partb", "blur"]) == 2 and "unknown figure" in capsys.readouterr().err
    run = tmp_path / "den"
    assert main(["train", "quick-denoise", "--quiet", "--out", str(run), "--hidden", "4", "--epochs", "1",
                 "--train-images", "64", "--test-images", "8", "--threads", "1"]) == 0
    assert code(["partb", "mean", str(run)]) == 2 and "needs a pure-noise model" in capsys.readouterr().err
    assert main(["partb", "ood", str(run), "--index", "3", "--out", str(tmp_path / "ood")]) == 0
    assert (tmp_path / "ood" / "ood.png").is_file()


@pytest.mark.parametrize("old, new", [
    (["eval", "m", "--n", "7"], ["eval", "m", "--num", "7"]),
    (["partb", "mean", "m", "--count", "7"], ["partb", "mean", "m", "--num", "7"]),
    (["train", "flow", "--samples", "7"], ["train", "flow", "--num", "7"]),
    (["illusion", "hybrid", "--prompt", "1", "--sigma", "1.5"],
     ["illusion", "hybrid", "--prompt", "1", "--blur-sigma", "1.5"]),
])
def test_old_spellings_still_parse_to_the_new_flags_and_stay_out_of_help(old, new, capsys):
    from difflab.cli import build_parser

    parser = build_parser()
    assert vars(parser.parse_args(old)) == vars(parser.parse_args(new))
    with pytest.raises(SystemExit):
        parser.parse_args(new[:2] + ["--help"])
    shown = capsys.readouterr().out
    assert new[-2] in shown and f"{old[-2]} " not in shown.replace(new[-2], "")


def test_train_device_defaults_to_auto():
    from difflab.training.config import TrainConfig, resolve

    assert TrainConfig().device == "auto" and resolve("flow").device == "auto"

"""Every bad argument of every command: exit 2, one line naming the flag, no traceback, no files.

The table holds every case of issue 14 (seeds past 2⁶⁴ − 1, unreachable devices, non-finite and
zero values, duplicates, unbounded work, over-long paths, local paths that look like Hub ids) and
their siblings on the other commands. {flow}/{ddpm}/{uncond} are tiny model files (conftest).
"""

from __future__ import annotations

import pytest
import torch


BIG_SEED = str(2 ** 70)
LAST_SEED = str(2 ** 64 - 1)
LONG_NAME = "x" * 300
DEEP_PATH = "/".join(["d" * 200] * 20)
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this torch has CUDA")
DENOISE = ["denoise", "--model", "{flow}", "--image", "digit:3"]
SDEDIT = ["edit", "sdedit", "--model", "{flow}", "--image", "digit:3"]
INPAINT = ["edit", "inpaint", "--model", "{flow}", "--image", "digit:3", "--rect", "2,2,8,8"]
HYBRID = ["illusion", "hybrid", "--model", "{flow}", "--prompt", "1", "--prompt", "7"]
ANAGRAM = ["illusion", "anagram", "--model", "{flow}", "--prompt", "6", "--prompt", "9"]
SAMPLE = ["sample", "--model", "{flow}"]

# (case, argv, a word the error line must contain)
PART_A = [
    ("seed 2**70", SAMPLE + ["--seed", BIG_SEED], "--seed"),
    ("seed -1", SAMPLE + ["--seed", "-1"], "--seed"),
    ("last seed, two images", SAMPLE + ["--seed", LAST_SEED, "--num", "2"], "--seed"),
    ("last seed, two prompts", SAMPLE + ["--seed", LAST_SEED, "--prompt", "1", "--prompt", "2"], "--seed"),
    ("sdedit seed overflow", SDEDIT + ["--seed", LAST_SEED, "--num", "2"], "--seed"),
    ("device tpu", SAMPLE + ["--device", "tpu"], "--device"),
    ("device nonsense", SAMPLE + ["--device", "cuda:x"], "--device"),
    pytest.param("device cuda without CUDA", SAMPLE + ["--device", "cuda"], "--device", marks=NO_CUDA),
    pytest.param("device cuda:0 without CUDA", DENOISE + ["--device", "cuda:0"], "--device", marks=NO_CUDA),
    ("300-character --out", SAMPLE + ["--out", LONG_NAME], "--out"),
    ("4000-character --out", SAMPLE + ["--out", DEEP_PATH], "--out"),
    ("empty --out", SAMPLE + ["--out", " "], "--out"),
    ("guidance nan", SAMPLE + ["--guidance", "nan"], "--guidance"),
    ("guidance inf", SAMPLE + ["--guidance", "inf"], "--guidance"),
    ("guidance -1", SAMPLE + ["--guidance", "-1"], "--guidance"),
    ("num 0", SAMPLE + ["--num", "0"], "--num"),
    ("num 10**9", SAMPLE + ["--num", "1000000000"], "--allow-long-runs"),
    ("num × prompts past the bound", SAMPLE + ["--num", "600", "--prompt", "1", "--prompt", "2"], "--num"),
    ("steps 100000 on flow", SAMPLE + ["--steps", "100000"], "--allow-long-runs"),
    ("steps 0", SAMPLE + ["--steps", "0"], "--steps"),
    ("steps past T on DDPM", ["sample", "--model", "{ddpm}", "--steps", "301", "--quiet"], "--steps"),
    ("frames-every 0", SAMPLE + ["--frames-every", "0"], "--frames-every"),
    ("not an integer", SAMPLE + ["--num", "2.5"], "--num"),
    ("typo of a run folder", ["sample", "--model", "runs/train-typo"], "runs/train-typo"),
    ("typo of a model file", ["sample", "--model", "my-model.safetensors"], "my-model.safetensors"),
    ("typo with a separator", ["sample", "--model", "./runs/x"], "runs/x"),
    ("three-part path", ["sample", "--model", "a/b/c"], "a/b/c"),
    ("class that does not exist", SAMPLE + ["--prompt", "12"], "12"),
    ("sdedit --i-start 2,2", SDEDIT + ["--i-start", "2,2"], "--i-start"),
    ("sdedit --i-start 1,,1", SDEDIT + ["--i-start", "1,,1"], "--i-start"),
    ("sdedit --i-start past the grid", SDEDIT + ["--i-start", "1,40"], "40"),
    ("sdedit levels × num past the bound", SDEDIT + ["--i-start", "1,2", "--num", "600"], "--num"),
    ("denoise --t 0.5,0.50", DENOISE + ["--t", "0.5,0.50"], "--t"),
    ("denoise --t nan", DENOISE + ["--t", "nan"], "nan"),
    ("denoise --t inf", DENOISE + ["--t", "0.5,inf"], "inf"),
    ("denoise --i-start 2,2", DENOISE + ["--i-start", "2,2"], "--i-start"),
    ("denoise --blur 5,nan", DENOISE + ["--blur", "5,nan"], "σ"),
    ("denoise --blur 5,inf", DENOISE + ["--blur", "5,inf"], "σ"),
    ("denoise --blur 5,0", DENOISE + ["--blur", "5,0"], "σ"),
    ("denoise --blur 0,1", DENOISE + ["--blur", "0,1"], "--blur"),
    ("denoise --blur 4,1", DENOISE + ["--blur", "4,1"], "--blur"),
    ("inpaint --jump 0", INPAINT + ["--jump", "0"], "--jump"),
    ("inpaint --resample 0", INPAINT + ["--resample", "0"], "--resample"),
    ("inpaint --rect of three", ["edit", "inpaint", "--model", "{flow}", "--image", "digit:3", "--rect", "1,2,3"],
     "--rect"),
    ("hybrid --kernel 0", HYBRID + ["--kernel", "0"], "--kernel"),
    ("hybrid --kernel 4", HYBRID + ["--kernel", "4"], "odd"),
    ("hybrid --blur-sigma 0", HYBRID + ["--blur-sigma", "0"], "--blur-sigma"),
    ("hybrid --sigma 0 (old spelling)", HYBRID + ["--sigma", "0"], "--blur-sigma"),
    ("hybrid --blur-sigma nan", HYBRID + ["--blur-sigma", "nan"], "--blur-sigma"),
    ("hybrid --blur-sigma inf", HYBRID + ["--blur-sigma", "inf"], "--blur-sigma"),
    ("hybrid --small 0", HYBRID + ["--small", "0"], "--small"),
    ("hybrid of one prompt", ["illusion", "hybrid", "--model", "{flow}", "--prompt", "1"], "2 prompts"),
    ("hybrid on an unconditional model", ["illusion", "hybrid", "--model", "{uncond}", "--prompt", "1",
                                          "--prompt", "2"], "unconditional"),
    ("anagram patch_permute:0", ANAGRAM + ["--views", "identity,patch_permute:0"], "patch_permute"),
    ("anagram skew:nan", ANAGRAM + ["--views", "identity,skew:nan"], "skew"),
    ("anagram skew:inf", ANAGRAM + ["--views", "identity,skew:inf"], "skew"),
    ("anagram jigsaw:0", ANAGRAM + ["--views", "identity,jigsaw:0"], "jigsaw"),
    ("anagram unknown view", ANAGRAM + ["--views", "identity,twirl"], "twirl"),
]

EVAL = ["eval", "{flow}", "--quiet"]
OTHERS = [
    ("eval --guidance nan", EVAL + ["--guidance", "nan"], "--guidance"),
    ("eval --guidance inf", EVAL + ["--guidance", "inf"], "--guidance"),
    ("eval --seed -1", EVAL + ["--seed", "-1"], "--seed"),
    ("eval seed overflow", EVAL + ["--seed", LAST_SEED, "--num", "2"], "--seed"),
    ("eval --num 0", EVAL + ["--num", "0"], "--num"),
    ("eval --num 10**6", EVAL + ["--num", "1000000"], "--allow-long-runs"),
    ("eval --steps 100000", EVAL + ["--steps", "100000"], "--allow-long-runs"),
    ("eval --batch-size 0", EVAL + ["--batch-size", "0"], "--batch-size"),
    ("eval --device tpu", EVAL + ["--device", "tpu"], "--device"),
    ("eval 300-character --out", EVAL + ["--out", LONG_NAME], "--out"),
    ("eval typo of a run folder", ["eval", "runs/flow-typo"], "runs/flow-typo"),
    ("partb --sigma nan", ["partb", "noising", "--sigma", "nan"], "--sigma"),
    ("partb --sigma -1", ["partb", "noising", "--sigma", "-1"], "--sigma"),
    ("partb --seed -1", ["partb", "noising", "--seed", "-1"], "--seed"),
    ("partb --num 0", ["partb", "noising", "--num", "0"], "--num"),
    ("partb --index -1", ["partb", "noising", "--index", "-1"], "--index"),
    ("partb unknown figure", ["partb", "nosing"], "nosing"),
    ("partb 300-character --out", ["partb", "noising", "--out", LONG_NAME], "--out"),
    ("train --seed -1", ["train", "flow-class", "--seed", "-1"], "seed"),
    ("train --seed 2**70", ["train", "flow-class", "--seed", BIG_SEED], "seed"),
    ("train --sample-seed overflow", ["train", "flow-class", "--sample-seed", LAST_SEED], "sample_seed"),
    ("train --lr inf", ["train", "flow-class", "--lr", "inf"], "lr"),
    ("train --lr nan", ["train", "flow-class", "--lr", "nan"], "lr"),
    ("train --lr 0", ["train", "flow-class", "--lr", "0"], "lr"),
    ("train --beta-start nan", ["train", "ddpm", "--beta-start", "nan"], "beta"),
    ("train --p-uncond nan", ["train", "flow-class", "--p-uncond", "nan"], "p_uncond"),
    ("train --guidance inf", ["train", "flow-class", "--guidance", "inf"], "guidance"),
    ("train --ema-decay nan", ["train", "flow-class", "--ema-decay", "nan"], "ema_decay"),
    ("train --sigma inf", ["train", "denoise", "--sigma", "inf"], "sigma"),
    ("train --epochs 0", ["train", "flow-class", "--epochs", "0"], "epochs"),
    ("train --epochs 10**6", ["train", "flow-class", "--epochs", "1000000"], "--allow-long-runs"),
    ("train --num 10**6", ["train", "flow", "--num", "1000000"], "--allow-long-runs"),
    ("train --sample-steps 10**5", ["train", "flow", "--sample-steps", "100000"], "--allow-long-runs"),
    ("train --device tpu", ["train", "flow-class", "--device", "tpu"], "device"),
    pytest.param("train --device cuda without CUDA", ["train", "flow-class", "--device", "cuda"], "device",
                 marks=NO_CUDA),
    ("train 300-character --out", ["train", "flow-class", "--out", LONG_NAME], "--out"),
    ("train unknown recipe", ["train", "flow-clas"], "flow-clas"),
    ("train --resume of nothing", ["train", "--resume", "runs/nothing"], "runs/nothing"),
    ("upsample --guidance nan", ["upsample", "runs", "--guidance", "nan"], "--guidance"),
    ("upsample --steps 0", ["upsample", "runs", "--steps", "0"], "--steps"),
    ("upsample --noise-level 1000", ["upsample", "runs", "--noise-level", "1000"], "--noise-level"),
    ("upsample --device tpu", ["upsample", "runs", "--device", "tpu"], "--device"),
    ("upsample of a folder that is no run", ["upsample", "runs"], "records.jsonl"),
    ("report of a folder that is no report", ["report", "runs"], "not a report folder"),
    ("tour --seed -1", ["tour", "--seed", "-1"], "--seed"),
    ("tour --seed at the top", ["tour", "--seed", LAST_SEED], "--seed"),
    ("tour 300-character --out", ["tour", "--out", LONG_NAME], "--out"),
]


def _argv(template: list[str], models: dict) -> list[str]:
    argv = [a.format(**models) for a in template]
    if template[0] in ("train", "upsample", "report", "partb", "eval", "tour"):
        return argv
    return argv + ["--quiet"] + ([] if "--steps" in argv else ["--steps", "4"])


@pytest.mark.parametrize("case, argv, word", PART_A + OTHERS)
def test_bad_argument_is_one_line_and_exit_2_with_nothing_written(case, argv, word, model_files, refused):
    models = {"flow": model_files["flow-class"], "ddpm": model_files["ddpm-class"], "uncond": model_files["flow-uncond"]}
    line = refused(_argv(argv, {k: str(v) for k, v in models.items()}))
    assert word in line, line

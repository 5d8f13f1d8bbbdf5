"""Few-step sampling measured: classifier-FID, class accuracy and wall time against NFE, per solver and model.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/solvers.py [--n 500] [--gammas 5,2]
        [--models mnist-flow,mnist-ddpm] [--cache FILE] [--plot FILE] [--report]

For every shipped generator, every solver that runs on its path and every step count of the sweep,
it samples N class-conditioned images (sample i: seed i, class i mod 10, CFG with γ), scores them
with `difflab.evaluation.evaluate_samples` (classifier-FID beside the real-vs-real floor at the same
N, class accuracy) and times the sampling. The reference is the course's sampler at full length:
300 strided DDPM steps (every step of T = 300) on mnist-ddpm, 100 Euler steps on mnist-flow.

NFE counts network evaluations per image before CFG doubling (Heun: 2·steps − 1, since its last
step is an Euler step). Every cell is cached in a JSON file keyed by its settings, so an interrupted
run resumes, and the tables can be printed again without sampling (a cell is recomputed only when
its key is new). Wall times are those of the machine at the time (say its load beside them).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from difflab.data import load_dataset
from difflab.evaluation import evaluate_samples, load_classifier
from difflab.guidance import GuidedDenoiser
from difflab.models.registry import builtin_models, load_denoiser
from difflab.sampling import NoiseSource, sample_loop
from difflab.solvers import make_solver

REFERENCE = {"mnist-ddpm": ("ddpm", 300), "mnist-flow": ("euler", 100)}
NFE_SWEEP = (4, 6, 8, 10, 15, 20)
COARSE = (6, 10, 20)
# The sweep fits a shared 2-core CPU: the full NFE list for DPM-Solver++ 2M, a coarser one for the others.
# DDIM is left out on flow paths, where it is the Euler step exactly; on DDPM paths Euler in σ/α is DDIM.
SWEEP = {"flow": {"dpm++2m": NFE_SWEEP, "heun": (5, 9, 15), "euler": COARSE},
         "discrete": {"dpm++2m": NFE_SWEEP, "heun": (5, 9, 15), "ddim": COARSE, "ddpm": (20,)}}


def steps_for_nfe(solver_name: str, nfe: int) -> int:
    """Grid steps whose NFE is the largest not above `nfe` (Heun: 2·steps − 1)."""
    return max(1, (nfe + 1) // 2) if solver_name == "heun" else nfe


@torch.no_grad()
def sample_cell(model, solver, steps: int, gamma: float, n: int,
                batch: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(images in [0, 1], labels, seconds) for n guided samples on the model's `steps`-step grid."""
    grid = model.path.grid(steps)
    labels = torch.arange(n) % 10
    guided = GuidedDenoiser(model, gamma)
    images, tick = [], time.perf_counter()
    for start in range(0, n, batch):
        noise = NoiseSource(range(start, min(start + batch, n)))
        cond = model.encode(labels[start:start + batch].tolist())
        x = sample_loop(guided, noise.randn(model.image_shape), grid, cond, solver=solver, noise=noise)
        images.append(x.clamp(0, 1))
    return torch.cat(images), labels, time.perf_counter() - tick


def cell_key(name: str, solver_name: str, steps: int, gamma: float, n: int) -> str:
    return f"{name}|{solver_name}|{steps}|{gamma:g}|{n}"


def run_cell(cache: dict, cache_file: Path, context: dict, name: str, solver_name: str, steps: int,
             gamma: float, n: int, batch: int) -> dict:
    key = cell_key(name, solver_name, steps, gamma, n)
    if key in cache:
        return cache[key]
    model, classifier, real = context[name]
    solver = make_solver(solver_name)
    images, labels, seconds = sample_cell(model, solver, steps, gamma, n, batch)
    result = evaluate_samples(classifier, images, labels, real, seed=0)
    cell = {"model": name, "solver": solver_name, "steps": steps, "nfe": solver.nfe(steps), "gamma": gamma,
            "n": result.n, "fid": result.fid, "fid_floor": result.fid_floor, "accuracy": result.class_accuracy,
            "seconds": seconds, "load": os.getloadavg()[0]}
    cache[key] = cell
    tmp = cache_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=1))
    tmp.replace(cache_file)
    print(f"  {key}: FID {cell['fid']:.3g} (floor {cell['fid_floor']:.3g}), acc {100 * cell['accuracy']:.1f}%, "
          f"{seconds:.0f} s (load {cell['load']:.1f})", flush=True)
    return cell


def plan(models: list[str], kinds: dict, gammas: list[float], which: str = "all",
         solvers: set[str] | None = None) -> list[tuple[str, str, int, float]]:
    """(model, solver, steps, γ) in the order they run: per γ, the sweeps, then the references (the
    costliest cells: 100 and 300 steps), cheapest first, so that an interrupted run has the sweeps."""
    cells = []
    for gamma in gammas:
        for name in models if which != "references" else ():
            for solver_name, nfes in SWEEP[kinds[name]].items():
                if solvers is None or solver_name in solvers:
                    cells += [(name, solver_name, steps_for_nfe(solver_name, nfe), gamma) for nfe in nfes]
        if which != "sweeps":
            cells += sorted(((name, *REFERENCE[name], gamma) for name in models), key=lambda cell: cell[2])
    return cells


COLOURS = {"euler": "tab:blue", "ddim": "tab:cyan", "ddpm": "tab:orange", "heun": "tab:green", "dpm++2m": "tab:red"}


def reference_of(cells: list[dict], name: str, gamma: float) -> dict | None:
    solver_name, steps = REFERENCE[name]
    return next((c for c in cells if c["model"] == name and c["gamma"] == gamma and c["solver"] == solver_name
                 and c["steps"] == steps), None)


def tables(cache: dict) -> str:
    """Markdown: per model and γ, every cell beside the reference, and the fewest NFE within 10 % of it."""
    cells, lines = list(cache.values()), []
    for name in sorted({c["model"] for c in cells}, reverse=True):
        for gamma in sorted({c["gamma"] for c in cells if c["model"] == name}, reverse=True):
            ref = reference_of(cells, name, gamma)
            rows = sorted((c for c in cells if c["model"] == name and c["gamma"] == gamma and c is not ref),
                          key=lambda c: (c["solver"], c["nfe"]))
            n, floor = (ref or rows[0])["n"], (ref or rows[0])["fid_floor"]
            lines += [f"#### {name}, γ = {gamma:g} (N = {n}; real-vs-real FID floor {floor:.2f})", "",
                      "| solver | steps | NFE | classifier-FID | FID / reference | class accuracy | wall time (s) |",
                      "|---|---|---|---|---|---|---|"]
            for c in ([ref] if ref else []) + rows:
                ratio = f"{c['fid'] / ref['fid']:.2f}" if ref else "–"
                label = f"**{c['solver']} (reference)**" if c is ref else c["solver"]
                lines.append(f"| {label} | {c['steps']} | {c['nfe']} | {c['fid']:.2f} | {ratio} | "
                             f"{100 * c['accuracy']:.1f} % | {c['seconds']:.0f} |")
            if ref:
                lines += ["", fewest_line(rows, ref)]
            lines.append("")
    return "\n".join(lines)


def fewest_line(rows: list[dict], ref: dict) -> str:
    """Per solver, the fewest NFE whose FID is within 10 % of the reference's."""
    best = {}
    for c in rows:
        if c["fid"] <= 1.1 * ref["fid"] and (c["solver"] not in best or c["nfe"] < best[c["solver"]]["nfe"]):
            best[c["solver"]] = c
    if not best:
        return f"No solver of the sweep comes within 10 % of the reference FID {ref['fid']:.2f}."
    parts = [f"{s} {c['nfe']} NFE (FID {c['fid']:.2f})" for s, c in sorted(best.items(), key=lambda kv: kv[1]["nfe"])]
    return (f"Fewest NFE within 10 % of the reference (FID {ref['fid']:.2f} at {ref['nfe']} NFE): "
            + ", ".join(parts) + ".")


def plot(cache: dict, path: Path) -> None:
    """FID against NFE per solver, one panel per model and γ, with the reference, its +10 % and the floor."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = list(cache.values())
    models = sorted({c["model"] for c in cells}, reverse=True)
    gammas = sorted({c["gamma"] for c in cells}, reverse=True)
    fig, axes = plt.subplots(len(models), len(gammas), figsize=(4.6 * len(gammas), 3.8 * len(models)), squeeze=False)
    for ax, (name, gamma) in zip(axes.flat, [(m, g) for m in models for g in gammas]):
        ref = reference_of(cells, name, gamma)
        for solver_name in sorted({c["solver"] for c in cells if c["model"] == name}):
            pts = sorted((c["nfe"], c["fid"]) for c in cells if c["model"] == name and c["gamma"] == gamma
                         and c["solver"] == solver_name and c is not ref)
            if pts:
                ax.plot(*zip(*pts), marker="o", ms=3, label=solver_name, color=COLOURS.get(solver_name))
        if ref:
            ax.axhline(ref["fid"], color="k", lw=1, label=f"reference ({ref['solver']} {ref['nfe']})")
            ax.axhspan(ref["fid"], 1.1 * ref["fid"], color="k", alpha=0.08, label="reference +10 %")
            ax.axhline(ref["fid_floor"], color="gray", ls=":", lw=1, label="real-vs-real floor")
        ax.set(xscale="log", yscale="log", xlabel="NFE (network evaluations per image, before CFG)",
               ylabel="classifier-FID", title=f"{name}, γ = {gamma:g}")
        ax.set_xticks(NFE_SWEEP, [str(v) for v in NFE_SWEEP])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
        ax.legend(fontsize=6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--gammas", default="5,2")
    parser.add_argument("--models", default="mnist-flow,mnist-ddpm")
    parser.add_argument("--batch", type=int, default=125)
    parser.add_argument("--cache", default="benchmarks/results/solvers-cells.json")
    parser.add_argument("--cells", choices=("all", "sweeps", "references"), default="all")
    parser.add_argument("--solvers", default=None, help="comma-separated: sweep only these solvers")
    parser.add_argument("--report", action="store_true", help="print the tables and draw the plot from the cache only")
    parser.add_argument("--plot", default="benchmarks/results/solvers.png")
    args = parser.parse_args()
    if args.report:  # --cache may list several files (e.g. of runs split over processes)
        cache = {k: v for f in args.cache.split(",") for k, v in json.loads(Path(f).read_text()).items()}
        print(tables(cache))
        plot(cache, Path(args.plot))
        return
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    cache_file = Path(args.cache)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    gammas = [float(g) for g in args.gammas.split(",")]
    context = {}
    for name in args.models.split(","):
        model = load_denoiser(name, device="cpu")
        model.net.to(memory_format=torch.channels_last)  # same maths, ~1.5× faster convolutions on this CPU
        classifier = load_classifier(builtin_models()["classifier-mnist"])
        context[name] = (model, classifier, load_dataset(model.spec.dataset, "all").images)
    tick = time.perf_counter()
    for name, solver_name, steps, gamma in plan(list(context), {n: c[0].path.kind for n, c in context.items()}, gammas,
                                            args.cells, set(args.solvers.split(",")) if args.solvers else None):
        run_cell(cache, cache_file, context, name, solver_name, steps, gamma, args.n, args.batch)
    print(f"total {time.perf_counter() - tick:.0f} s")
    print(tables(cache))
    plot(cache, Path(args.plot))


if __name__ == "__main__":
    main()

"""B-BW: a better time-only model than the course's — the same flow trained three times as long
(shipped), or with --train twice as wide and twice as long as the course preset — beside the
course-length run: grids from the same noise, and classifier-FID (beside its floor) of samples drawn
now with the fast default sampler, plus the ship-time evaluation (the course's sampler, N = 1000)
recorded in the model file."""

from __future__ import annotations

from ...training.outputs import draw_epoch_figure
from ...training.tour_runs import BETTER_TIME_ONLY, recipe_text, run_config
from ..prose import join, paragraph
from ..section import Section
from ..tour import TourContext
from .runs import PartBRun, describe, part_b_run, run_params, scored_samples, test_digits
from .small_runs import grid_config

SCORED = {"full": 500, "quick": 40}  # samples scored now per model; tests monkeypatch this


def runs(ctx: TourContext) -> tuple[PartBRun, PartBRun]:
    """(the course-length time-only flow, the better one)."""
    base = part_b_run(ctx, "flow")
    if ctx.train:
        cfg = run_config("flow", ctx.dataset, ctx.seed, **BETTER_TIME_ONLY)
        return base, part_b_run(ctx, "flow", cfg=cfg, name="bw-flow-course")
    return base, part_b_run(ctx, "flow-bw")


def better_time_only(ctx: TourContext, section: Section) -> None:
    base, better = runs(ctx)
    n = SCORED["quick" if ctx.quick else "full"]
    scores = {}
    for name, run in (("course-length", base), ("better", better)):
        cfg = grid_config(ctx, run)
        net, spec = run.load()
        file = f"{name}.png"
        draw_epoch_figure(section.path(file), net, cfg, spec, test_digits(ctx, run, 3), f"{name}: {run.recipe}")
        scored, settings = scored_samples(ctx, run, n, 0.0)
        result = scores[name] = scored.result
        section.add_figure(file, f"The {name} time-only flow after its last epoch: {cfg.samples} samples, "
                           f"{cfg.sample_steps} Euler steps, seeds {cfg.sample_seed}…{cfg.sample_seed + cfg.samples - 1} "
                           f"(the same noise in both figures); {describe(run)}. Scored now on {n} samples drawn with "
                           f"{settings['solver']} in {settings['steps']} steps: {result.summary()}.")
    run_params(section, better)
    section.params["course-length run"] = recipe_text(base.config)
    recorded = {name: run.records.get("evaluations") or "none recorded" for name, run in
                (("course-length", base), ("better", better))}
    section.params["ship-time evaluations"] = recorded
    metrics = {f"{name} {key}": round(getattr(result, attr), 3) for name, result in scores.items()
               for key, attr in (("classifier_fid", "fid"), ("classifier_fid_floor", "fid_floor"))}
    a, b = scores["course-length"], scores["better"]
    section.paragraph = join(paragraph("B-BW-grids", better.prose), paragraph("B-BW", better.prose, n=n, solver=settings["solver"], steps=settings["steps"], base_fid=a.fid, better_fid=b.fid, floor=b.fid_floor,
                                  verdict="lower" if b.fid < a.fid else "not lower",
                                  base_steps=base.metrics.get("steps", 0), better_steps=better.metrics.get("steps", 0)), _recorded(base, better))
    section.finish(metrics=metrics)


def _recorded(base: PartBRun, better: PartBRun) -> str:
    """The ship-time evaluations of both runs, when both files hold one with the same settings."""
    found = [(run.records.get("evaluations") or [None])[0] for run in (base, better)]
    if None in found or {(e["n"], e["steps"]) for e in found} != {(found[0]["n"], found[0]["steps"])}:
        return ""
    return paragraph("B-BW-recorded", n=found[0]["n"], steps=found[0]["steps"], base_fid=found[0]["classifier_fid"],
                     better_fid=found[1]["classifier_fid"], floor=found[1]["classifier_fid_floor"])

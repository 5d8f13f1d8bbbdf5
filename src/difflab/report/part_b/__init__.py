"""Part B of the tour (spec §3.2–3.7, rows B1.2 … B-BW of §4): every figure drawn now from the weights
of real training runs — the ones shipped in weights/partb, or the course presets with --train.

    noising.py        B1.2: digits noised as z = x + σ·ε
    runs.py           where a run comes from (`PartBRun`: config, snapshots by epoch, losses, metrics)
    small_runs.py     B1.2.1–B1.2.3, B2.2/B2.3 (+FM), B2.6-noLR: the runs without class labels
    class_models.py   B2.5a/b, B2.5-FM, B2.6-FM: the class-conditioned runs, their final weights scored now
    better.py         B-BW: a longer time-only flow beside the course-length one, both scored now
"""

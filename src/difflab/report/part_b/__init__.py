"""Part B of the tour (spec §3.2–3.7, rows B1.2 … B-BW of §4): figures from training runs and models.

    noising.py        B1.2: digits noised as z = x + σ·ε
    runs.py           the tour's small training runs (`training.tour_runs`) as a section sees them
    small_runs.py     B1.2.1–B1.2.3, B2.2/B2.3 (+FM), B2.6-noLR, B-BW: figures of those runs
    class_models.py   B2.5a/b, B2.5-FM, B2.6-FM: the shipped class-conditioned models, scored now
"""

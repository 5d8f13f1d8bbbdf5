"""Part A of the tour (spec §4, rows A0.1 … A-BW): procedures that draw figures on any Part A model.

    setup.py      the loaded model, its grids, conditions and inputs (`setup`), shared by every row
    forward.py    A0.2 the seed, A1.1 the forward process, A1.2 the blur baseline, A1.3 one-step
    iterative.py  A1.4a/b: the course's loop from i_start = 10, beside one-step and blur
    sampling.py   A0.1, A1.5, A1.6: samples from pure noise, with and without CFG
    edits.py      A1.7.x: SDEdit strips (photos, web, drawings, image-to-image) and inpainting
    illusions.py  A1.8, A1.9, A-BW: visual anagrams and hybrids
"""

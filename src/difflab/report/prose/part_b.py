"""Part B's paragraphs: deliverable id → {key → template}. Part B does not depend on --model: it is
drawn from the runs shipped in weights/partb (key "shipped": claims checked by eye on those figures)
or, with --train, from the course presets trained in the tour (key "any": how to read the figure).
"""

from __future__ import annotations

PARAGRAPHS: dict[str, dict[str, str]] = {
    "B1.2": {"any": (
        "The single-step denoiser of Part B learns to undo z = x + σ·eps. At σ = 0.2 every digit is still easy to "
        "read; at σ = 0.5, the level the denoiser is trained at, the stroke is half-buried but its shape still "
        "stands out; at σ = 1.0 the noise is as strong as the ink and the digit is a guess.")},
    "B1.2.1a": {"any": (
        "The single-step denoiser is a plain UNet trained with MSE to map z = x + 0.5·ε back to x. Its loss "
        "falls fast in the first epoch and then flattens: what is left is the detail the noise has truly "
        "destroyed, which no denoiser can recover.")},
    "B1.2.1b/c": {
        "shipped": (
            "After one epoch the outputs are already clean digits, but blurred and a little faint (the 7 is "
            "smudged); after the last epoch the strokes are sharper. The denoiser never saw these test digits."),
        "any": "The denoiser never saw these test digits: compare the output column with the input, epoch by epoch."},
    "B1.2.2": {
        "shipped": (
            "Up to σ = 0.6 the denoiser does well: the noisy 0 comes out clean. Above it the output degrades: at "
            "σ = 0.8 and 1.0 the denoiser, which only ever saw σ = 0.5, leaves blotches and a broken ring — it "
            "learned one noise level, not denoising in general."),
        "any": (
            "The denoiser saw σ = 0.5 only: read the bottom row against the top to see how it handles the noise "
            "levels it never saw, below and above that one.")},
    "B1.2.3a": {"any": (
        "With z = ε the input carries no information about the digit, so the loss cannot fall below the "
        "variance of the digits around their mean: it drops in the first steps and stays on a plateau.")},
    "B1.2.3b": {"any": (
        "Every output is the same blurry blob whatever the noise: under an MSE loss the best prediction "
        "from an input that says nothing about x is E[x], the average training digit. The outputs after the "
        "first and the last epoch differ only in how close they have come to that average.")},
    "B1.2.3c": {"any": (
        "The outputs lie at RMS {output_to_mean_rms:.3f} from the training-set mean, against "
        "{digit_to_mean_rms:.3f} for a real training digit, and differ from each other by only "
        "{output_spread_rms:.3f}: the network has learned the mean digit, the minimiser of the MSE "
        "when the input is independent of the target.")},
    "B2.2": {"any": (
        "The DDPM loss is the MSE of the predicted noise at a random t; it is noisy from step to "
        "step because t is drawn afresh, and its running mean keeps falling through training.")},
    "B2.3": {
        "shipped": (
            "After epoch 5 the samples are loose strokes and blots; after epoch 20 most are single connected "
            "strokes and about half read as digits (2, 4, 7, 6, 1, 3), the rest as no digit at all, on a faintly "
            "grainy background. The time-only model chooses the digit itself — the reason for class "
            "conditioning. This is below the course's result: the run takes 1,420 optimizer steps at D = 32 "
            "against 9,380 at D = 64 (`difflab tour --train` trains the course's)."),
        "any": (
            "The same noise is sampled after each epoch, so the grids can be compared image by image; the "
            "time-only model chooses the digit itself, and a sample may be no digit at all — the reason for "
            "class conditioning.")},
    "B2.2-FM": {"any": (
        "The flow-matching loss is the MSE of the predicted velocity x1 − x0 at a random t; it "
        "starts near 1 and falls quickly, then slowly as the learning rate decays.")},
    "B2.3-FM": {
        "shipped": (
            "The same noise is integrated after each epoch, so the grids can be compared image by image. After "
            "epoch 2 (the course's epoch 1) the samples are grainy blots; by epoch 10 they are strokes, a few "
            "already digits (6, 4, 1); after epoch 20 about half read as digits (9, 4, 3, 5, 7, 8) and the rest "
            "are broken strokes. That is below the course's result, which trains 9,380 steps at D = 64 against "
            "these 1,420 at D = 32; B-BW trains the same model three times as long."),
        "any": (
            "The same noise is integrated after each epoch, so the grids can be compared image by "
            "image: the shapes sharpen from blobs into strokes as training goes on.")},
    "B2.5a/B2.5-FM": {"any": (
        "The loss falls steeply over the first epochs and flattens as the learning rate "
        "decays. The held-out test loss of the EMA weights keeps falling with it (it lies below "
        "the training loss, which averages the raw weights over the whole epoch and includes "
        "the label dropout), so the model does not overfit its training digits.")},
    "B2.5b/B2.6-FM": {"any": (
        "The grids use the same noise and labels after every epoch, so they can be compared digit by digit. "
        "Scored on {n} samples of the weights after epoch {epoch}, drawn now with {solver} in {steps} steps "
        "(labels cycling 0–9): {summary}. The FID is only meaningful beside its floor — two sets of real digits "
        "of the same size; class accuracy says how often the classifier reads the digit that was asked for.")},
    "B2.5b-grids": {
        "shipped": (
            "After epoch 15 (the course's epoch 5) every column already reads as its digit, on a grainy "
            "background; after epoch 60 the strokes are smoother and the grain is fainter."),
        "any": ""},
    "B2.6-FM-grids": {
        "shipped": (
            "After epoch 6 (the course's epoch 1) the 0s, 1s and 3s are readable while the 2s, 4s, 5s and 9s are "
            "broken shapes; after epoch 30 every sample reads as its digit, and epoch 60 smooths the strokes."),
        "any": ""},
    "B2.6-noLR": {
        "shipped": (
            "Without the scheduler the learning rate stays at {lr:g} for all {epochs} epochs — the rate the "
            "scheduled course run ends on. The loss falls steeply over the first 200 steps and then drifts down "
            "slowly, with no late drop since the rate never decays; the samples are readable in every column, a "
            "few strokes thick or grainy. The scheduled run of B2.6-FM starts ten times higher and trains three "
            "times as long."),
        "any": (
            "Without the scheduler the learning rate stays at {lr:g} for all {epochs} epochs: compare the loss and "
            "the samples with the scheduled run of B2.6-FM.")},
    "B-BW": {"any": (
        "The better run takes {better_steps:,} optimizer steps against {base_steps:,}. Scored now on {n} samples "
        "each ({solver}, {steps} steps), its classifier-FID is {better_fid:.2f} against {base_fid:.2f} for the "
        "course-length run ({verdict}; the floor, two real sets of the same size, is {floor:.2f}).")},
    "B-BW-recorded": {"any": (
        "Recorded when the runs were shipped, with the course's {steps} Euler steps and N = {n}: classifier-FID "
        "{better_fid:.2f} against {base_fid:.2f} (floor {floor:.2f}).")},
    "B-BW-grids": {
        "shipped": (
            "From the same noise the longer run keeps most of the digit choices and turns many broken strokes "
            "into digits (the 8s, 9s and 6 of the lower rows); some samples are still no digit."),
        "any": ""},
}

"""Part B's paragraphs: deliverable id → {key → template}. Part B does not depend on --model: its
small runs are trained by the tour and its class-conditioned models are the shipped ones (or
retrained with --train), so most entries are "any"; notes that the sections append are keyed by name.
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
    "B1.2.1b/c": {"any": (
        "After one epoch the outputs are already clean digits, but blurred and a little faint; after the "
        "last epoch the strokes are sharper. The denoiser never saw these test digits.")},
    "epoch-differs": {"any": "(The course shows epoch {course_epoch}; this reduced run has {epochs} epochs.)"},
    "B1.2.2": {"any": (
        "Below σ = 0.5 the denoiser does well: a mildly noisy digit comes out clean. Above it the output "
        "degrades: at σ = 0.8 and 1.0 the denoiser, which only ever saw σ = 0.5, leaves blotches and broken "
        "strokes — it learned one noise level, not denoising in general.")},
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
    "B2.3": {"any": (
        "With the course's recipe early samples are blobs and broken strokes and later ones "
        "mostly digit-like; the time-only model chooses the digit itself, and some samples are not "
        "any digit at all — the reason for class conditioning.")},
    "B2.2-FM": {"any": (
        "The flow-matching loss is the MSE of the predicted velocity x1 − x0 at a random t; it "
        "starts near 1 and falls quickly, then slowly as the learning rate decays.")},
    "B2.3-FM": {"any": (
        "The same noise is integrated after each epoch, so the grids can be compared image by "
        "image: the shapes sharpen from blobs into strokes as training goes on.")},
    "reduced-run": {"any": (
        "This reduced run takes {steps} optimizer steps at D = {hidden}, against about "
        "{course_steps:,} at D = 64 in the course: expect blotches rather than digits, and run "
        "`difflab tour --train` (or `difflab train course-{recipe}`) for the course's result. The "
        "class-conditioned models below are the shipped ones, trained for thousands of steps (their records "
        "give the recipe).")},
    "B2.5a/B2.5-FM": {"any": (
        "The loss falls steeply over the first epochs and flattens as the learning rate "
        "decays. The held-out test loss of the EMA weights keeps falling with it (it lies below "
        "the training loss, which averages the raw weights over the whole epoch and includes "
        "the label dropout), so the model does not overfit its training digits.")},
    "shipped-final-only": {"any": (
        "The spec asks for grids after epochs {asked}; difflab ships the final weights of a {epochs}-epoch run "
        "only, so one grid of the final model is shown.")},
    "B2.5b/B2.6-FM": {"any": (
        "Scored on {n} samples drawn now (labels cycling 0–9): {summary}. The FID "
        "is only meaningful beside its floor — two sets of real digits of the same size — and with N this small "
        "both are large; class accuracy says how often the classifier reads the digit that was asked for.")},
    "B2.6-noLR": {"any": (
        "Without the scheduler the learning rate stays at {lr:g} for the whole run: 1e-3 is the rate the "
        "scheduled course run ends on, so the late, fine steps are the same, while the early steps are ten times "
        "smaller than the scheduled 1e-2. The cost is a slower start; a constant 1e-2 instead keeps the loss "
        "noisy to the end and the samples grainy. Compare the samples with the scheduled, shipped mnist-flow "
        "of B2.6-FM.")},
    "reduced-vs-shipped": {"any": (
        "This run is reduced (D = {hidden}, {epochs} epochs on {train_images} digits), so "
        "it is far less trained than mnist-flow (D = {shipped_hidden}, {shipped_epochs} epochs on "
        "{shipped_dataset}) and the two grids differ mostly by training, not by the schedule; the fair "
        "comparison is `difflab tour --train`, which trains the course's constant-lr run.")},
    "B-BW": {"any": "Twice the width and twice the epochs of the course's time-only flow: compare with B2.3-FM."},
}

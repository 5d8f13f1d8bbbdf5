"""Part A's paragraphs: deliverable id → {model key → template} (keys: see `difflab.report.prose`).

Claims about what a model drew are keyed to "mnist-flow", "emoji" or "deepfloyd-if", the models they were
checked on by eye; "class", "text", "ddpm" and "flow" entries say only what holds for any such model.
"""

from __future__ import annotations

_A01 = ("Each column starts from the same noise in both rows, so the rows differ only by the step count: the mean "
        "absolute pixel difference between them is {change_pct:.1f}% of the value range. ")
_A01_END = " Seeds are reported in the captions and reused by every later section."
_A15 = "Without guidance the samples are what the course calls \"not spectacular, but reasonable\": "
_A16 = "Classifier-free guidance ε = ε_u + γ(ε_c − ε_u) with γ = {gamma} "
_A16_CLASS = ("(5 on class-conditioned course models, the value Part B uses; γ = 7 is IF's). \"A high quality photo\" "
              "has no digit counterpart — guiding the null class toward itself changes nothing — so each sample is "
              "guided toward a class (0–4); ")
_SDEDIT = ("Left to right the edit starts from less and less noise, so the output keeps more and more of the "
           "input. ")
_DIGITS = "On 28-px digits, noise of standard deviation near 1 hides a thin stroke much sooner than it hides a photo"
_ONLY_DIGITS = ("The model knows only digits, so any input — a photo, a drawing — is pulled toward a digit-like "
                "shape. ")
_DDPM_NOISE = ("This model's DDPM sampler adds fresh noise at every step, so its early columns differ from one "
               "another and more of the input can survive the mid levels. ")
_PULLED = "Each edit is pulled toward {condition}: the early columns show it, the late ones keep the input."
_IF_SDEDIT = ("At i_start = 1 almost nothing of the input survives and the model draws a new photo; by i_start = 10 "
              "the input's layout decides the result, and at i_start = 20 the output is the input, cleaned. ")
SDEDIT = {
    "mnist-flow": _SDEDIT + _DIGITS + ": on mnist-flow the columns up to i_start = 10 (t ≤ 10/33) ignore the input "
                  "and show the same sample for the same seed, and only i_start = 20 keeps the input's shape. "
                  + _ONLY_DIGITS,
    "class-ddpm": _SDEDIT + _DIGITS + ", so the early columns may ignore the input and only the late ones keep its "
                  "shape. " + _ONLY_DIGITS + _DDPM_NOISE,
    "class": _SDEDIT + _DIGITS + ", so the early columns may ignore the input and only the late ones keep its "
             "shape. " + _ONLY_DIGITS,
    "deepfloyd-if": _SDEDIT + _IF_SDEDIT + _PULLED,
    "text": _SDEDIT + _PULLED,
    "any": _SDEDIT,
}
_EMOJI_SDEDIT = "Left to right the edit starts from less and less noise. "
_EMOJI_PHOTO = ("The emoji model learned only emoji, so a photo is far outside what it knows: on the shipped emoji "
                "the noisiest columns become a blotchy emoji-like shape in the photo's colours, and below them a "
                "mottled patchwork of those colours, neither an emoji nor the photo ({seen}). SDEdit of photos needs "
                "a model trained on photos.")
EMOJI_SEEN = {  # what each photo became, seen on the shipped emoji (17,650 steps; tour seed 0)
    "A1.7a": "the launch photo: an orange ring around green and brown blotches at i_start = 1–5, a mottled square "
             "at 7–10, a blotchy square in the sky's dark blue and purple at 20, with no tower",
    "A1.7b": "the cat: a brown face-like blob with a red mouth at i_start = 1, then brown, red and green blotches; "
             "the coffee: orange fruit-like blobs with green tops at 1–5, then red-brown layers with the saucer's "
             "rim as a line",
    "A1.7.1a": "the astronaut: an orange ring at i_start = 1, red and green mottled blobs at 3–10, the suit's red "
               "and pink with dark marks at 20",
}
_EMOJI_DRAWN = ("The drawings are closer to emoji, flat colours on white: on the shipped emoji the tree becomes green "
                "emoji — fries at i_start = 1, a pineapple at 3–5, a leafy plant at 7, a green tree at 10 and 20 — while the "
                "house becomes a monkey face at 1 and an orange-grey blob with the sun's yellow at 3–10, and only "
                "at 20 keeps its red roof, wall, door and sun. ")
SDEDIT_DRAWN = {**SDEDIT, "emoji": _EMOJI_SDEDIT + _EMOJI_DRAWN}
IMG2IMG = {key: text if key in ("deepfloyd-if", "text") else text + _PULLED for key, text in SDEDIT.items()}
EMOJI_IMG2IMG = {  # "a rocket ship" on the shipped emoji (17,650 steps; tour seed 0)
    "A1.7.3a": "a clean rocket at i_start = 1 and 3, a rocket over a red, blotchy ground at 5–10, and at 20 a dark "
               "rocket in the launch photo's dark blue",
    "A1.7.3b": "a clean rocket at i_start = 1 and 3 for both photos, then rockets over red, blotchy grounds at "
               "5–10; at 20 a rocket in the cat's colours, and red shapes in the coffee's",
}
EMOJI_INPAINT = {  # the hole's fill on the shipped emoji (17,650 steps; tour seed 0)
    "A1.7.2a": "a small pink-and-blue blotch in the sky's dark blue above the tower",
    "A1.7.2b": "a yellow, green and orange speckled patch where the cat's eye was, a red-brown patch with an orange "
               "shape in the saucer",
}

_A14B = ("The iterative result is sharp — it is a sample, not an average — but it need not match the original: "
         "from this much noise the model invents details, so its PSNR can be below the one-step estimate's, which is "
         "blurry but close on average. The blur keeps the noise's texture and loses the shape.")
_BW = ("Bells & whistles: two more views of the Visual Anagrams paper — colour negation and a 4×4 jigsaw "
       "permutation. The course logo is not made here. ")
_HYBRID_28 = ("The skull / waterfalls pair has no digit counterpart; a 0 from afar and a 1 close up stand in. With "
              "the course's blur scaled to 28 px (kernel {kernel}, σ {sigma:g}) the low band holds almost the whole "
              "shape of a digit and the high band only stroke edges, so ")

PARAGRAPHS: dict[str, dict[str, str]] = {
    "A0.1": {
        "emoji": _A01 + "On the shipped emoji all three prompts come out as their emoji at both step counts — a "
                 "snow-capped mountain, the cowboy-hat face, a rocket — and the rows differ in small details only: at "
                 "32 px the 20-step row is already clean." + _A01_END,
        "deepfloyd-if": _A01 + "With few steps the sampler takes large jumps and the images are rougher; with more "
                        "the prompt's details appear." + _A01_END,
        "text": _A01 + "With few steps the sampler takes large jumps; compare the rows to see what the extra steps "
                "add." + _A01_END,
        "mnist-flow": _A01 + "A flow's Euler steps follow nearly straight paths, so few steps already land close to "
                      "the many-step result; what both rows get wrong is the model's, not the sampler's." + _A01_END,
        "flow": _A01 + "A flow's Euler steps follow the learned velocity in straight segments: the straighter the "
                "model's paths, the closer the few-step row comes to the many-step one." + _A01_END,
        "ddpm": _A01 + "DDPM's stochastic steps change the sample more with the step count than a flow's would."
                + _A01_END,
    },
    "A0.2": {"any": (
        "Every figure of this report comes from the seed {seed}. The course asks for one seed, reported once "
        "and reused everywhere; difflab goes one step further and gives every image its own random generator, "
        "seeded with the tour's seed plus the image's index, so an image does not depend on the batch it was "
        "drawn in, nor on the device: noise is always drawn on the CPU.\n\n"
        "Each section lists the seeds behind its figures, and its records.jsonl holds the seed of every image.")},
    "A1.1": {"any": (
        "The forward process does not only add noise, it also shrinks the image: x_t = alpha(t)·x_0 + sigma(t)·eps "
        "with alpha² + sigma² = 1 on DDPM paths. At t = {t_first} the photo keeps {alpha_first:.2f} of its "
        "amplitude under noise of standard deviation {sigma_first:.2f} and is still plain to see; at t = {t_last} "
        "it keeps {alpha_last:.2f} against {sigma_last:.2f} and only its largest shapes survive. Undoing this is "
        "what every later section asks of the model.")},
    "A1.2": {"any": (
        "Even the best blur — chosen by looking at the clean original, which a real denoiser cannot — only trades "
        "noise for smear: it gains a few dB at the mildest level and little at the strongest, where the noise is "
        "as large as the picture. This is the baseline the diffusion model's one-step estimate is compared with.")},
    "A1.3": {
        "emoji": "One model call inverts x_t = α·x0 + σ·ε with the predicted noise. On the shipped emoji, at t = 250 "
                 "the estimate still shows the launch tower, faint in a dark blue-purple haze; at t = 500 only a dark "
                 "mottled square with a faint light mark is left, and at t = 750 a mottled square with brown patches: the "
                 "model has only seen emoji, so from heavy noise it guesses colours, not the photo.",
        "class": "One model call inverts x_t = α·x0 + σ·ε with the predicted noise. At the mildest level the "
                 "estimate is close to the original and far better than A1.2's blur; as t grows it becomes a blurred "
                 "average of everything the noisy image could have been, drifting from the input toward a generic "
                 "digit.",
        "any": "One model call inverts x_t = α·x0 + σ·ε with the predicted noise. At the mildest level the "
               "estimate is close to the original and far better than A1.2's blur; as t grows it becomes a blurred "
               "average of everything the noisy image could have been, losing the fine detail.",
    },
    "A1.4a": {"any": "Each loop removes part of the noise: the first frames are mostly noise, the middle ones show the "
                     "shape emerging, the last is nearly clean."},
    "A1.4b": {
        "emoji": "On the shipped emoji the iterative result is a mottled, many-coloured square, nothing like the launch "
                 "photo: from t = 690 the model invents, and photos lie outside what it learned. The one-step "
                 "estimate is a smoother version that keeps more of the photo's dark blue, and the blur keeps its "
                 "average colour but loses every shape.",
        "mnist-flow": _A14B + " On the digit model this noise level already hides the thin stroke of the test "
                      "digit, so the iterative result is a different, invented digit-like shape.",
        "class": _A14B + " On 28-px digits this noise level can already hide the thin stroke of the test digit; "
                 "then the iterative result is a digit-like shape of the model's own.",
        "any": _A14B,
    },
    "A1.5": {
        "emoji": "Without guidance, under the null prompt (\"a high quality photo\" is this model's null prompt), the "
                 "shipped emoji draws emoji from its whole vocabulary: a basketball, a monkey face, a mobile phone, a "
                 "yellow shape that is at most a banana, and a dark blue blob.",
        "deepfloyd-if": _A15 + "plausible photo textures with weak structure.",
        "mnist-flow": _A15 + "under the null class the model draws from its whole training distribution, so some "
                      "samples are clear digits and others are blotches between two digits.",
        "class": "Without guidance, under the null class, the model draws from its whole training distribution: "
                 "every digit is possible, and a sample may fall between two.",
        "any": "Without guidance the model draws from its whole training distribution; the course calls such "
               "samples \"not spectacular, but reasonable\".",
    },
    "A1.6": {
        "emoji": _A16 + "(the course's value for IF). \"A high quality photo\" is this model's null prompt — guiding "
                 "it toward itself would draw A1.5 again — so each sample is guided toward a staff prompt: on the "
                 "shipped emoji four of the five come out as their emoji (a rocket, the cowboy-hat face, a skull, a dog "
                 "face); on this seed the snowy mountain is blank white paper. Over seeds 0–7, 2 mountains in 8 come "
                 "out blank (A0.1 draws it on another seed); 8 % of the README's 200 measured samples are this "
                 "faint, 2 % before the low-band swaps that give this model its hybrids.",
        "deepfloyd-if": _A16 + "(the course's value for IF) gives sharper, more photo-like images than A1.5, at the "
                        "cost of diversity.",
        "text": _A16 + "(the course's value for IF) trades diversity for agreement with the prompt: compare with A1.5.",
        "mnist-flow": _A16 + _A16_CLASS + "the digits are bolder and more legible than A1.5's unguided ones.",
        "class": _A16 + _A16_CLASS + "compare them with A1.5's unguided samples.",
        "any": _A16 + "pushes each sample toward its condition: compare with A1.5.",
    },
    **{sid: {**SDEDIT, "emoji": _EMOJI_SDEDIT + _EMOJI_PHOTO.format(seen=EMOJI_SEEN[sid])}
       for sid in ("A1.7a", "A1.7b", "A1.7.1a")},
    "A1.7.1b": SDEDIT_DRAWN,
    **{sid: {**IMG2IMG, "emoji": _EMOJI_SDEDIT + "On the shipped emoji \"a rocket ship\" gives " + EMOJI_IMG2IMG[sid]
             + ": the prompt holds at almost every level, the photo gives it a blotchy ground in its colours, "
             "and nothing of the photo's layout survives, since photos lie outside the emoji it learned."}
       for sid in ("A1.7.3a", "A1.7.3b")},
    **{sid: {
        "class": "Outside the mask every step is reset to the original noised to the current level, so the kept "
                 "pixels come back exactly; inside, the model fills the hole so that it agrees with its "
                 "surroundings — on digits usually by completing a stroke, sometimes into a different digit.",
        "any": "Outside the mask every step is reset to the original noised to the current level, so the kept "
               "pixels come back exactly; inside, the model fills the hole so that it agrees with its surroundings.",
        "emoji": "Outside the mask every step is reset to the original noised to the current level, so the kept "
                 "pixels come back exactly; inside, the shipped emoji fills the hole with " + EMOJI_INPAINT[sid]
                 + ": colours near its surroundings', not the photo's content, which it never learned.",
    } for sid in ("A1.7.2a", "A1.7.2b")},
    "A1.8a": {
        "emoji": "The staff pair in the emoji model's words (\"an old man\", \"campfire\"), upright and flipped. On "
                 "the shipped emoji this seed draws a round orange face with two dark eyes and a green sprig both ways: "
                 "neither an old man nor a fire — this pair fails here. The eight pairs measured in "
                 "the README, chosen for shapes that can share pixels, pass far more often.",
        "text": "The staff pair: upright an old man, upside down people around a campfire.",
        "mnist-flow": "The staff's old man / campfire pair has no digit counterpart; 6 and 9 are the pair a 180° "
                      "rotation already relates, so the two branches can agree: on the shipped mnist-flow the sample "
                      "reads as a 6 upright and a 9 rotated. It shows the mechanism works on this model, not that it "
                      "can hide two unrelated digits. The seed (the tour's seed + 2) was picked by eye among the "
                      "first few.",
        "any": "The staff's old man / campfire pair has no digit counterpart; 6 and 9 are the pair a 180° rotation "
               "already relates, so the two branches can agree. The figure shows whether this model's sample reads "
               "as a 6 upright and a 9 rotated; the seed (the tour's seed + 2) was picked by eye among mnist-flow's "
               "samples, not this model's.",
    },
    "A1.8b": {
        "emoji": "On the shipped emoji neither staff pair reads as both prompts: the snowy mountain village / old man "
                 "is a pale face drawn in blue strokes inside a yellow rim both ways, the dog / campfire a swirl of a "
                 "dog's brown ears and a flame's orange. A 32-px emoji has little room for two unrelated readings; the README's measured "
                 "pairs show how often the mechanism does work on this model.",
        "text": "Two more pairs of the staff prompts, each upright and flipped.",
        "mnist-flow": "Two harder pairs under a 180° rotation: 1 / 7 and 2 / 5. A 28-px digit has little room to "
                      "serve two unrelated readings, and on the shipped mnist-flow these mostly fail: the 1/7 comes "
                      "out as a 1 both ways (a rotated 1 is still a 1, so that branch wins; the 7 is at most a "
                      "hook), the 2/5 as a tangle that hints at a 2 upright and a 5 rotated, each crossed by strokes "
                      "of the other. They are shown as the honest limit of anagrams at this size; the 6/9 of A1.8a "
                      "is the one that works.",
        "any": "Two harder pairs under a 180° rotation: 1 / 7 and 2 / 5. A 28-px digit has little room to serve two "
               "unrelated readings, so these test the limit of anagrams at this size; the 6/9 of A1.8a is the pair "
               "that the rotation already relates.",
    },
    "A-BW": {
        "emoji": _BW + "On the shipped emoji the negate pair (old man / dog) is a dark olive face whose negative is a "
                 "bluish face — a face both ways, but clearly neither an old man nor a dog — and the jigsaw pair "
                 "(waterfall / snowy mountain village) loose blue-white "
                 "strokes of the wave both ways: neither works. Negation is the hardest view for a model that only saw "
                 "emoji on light grounds, since one of the two views must have a dark background.",
        "mnist-flow": _BW + "On the shipped mnist-flow the negate view carries both digits: as drawn a light 1 sits "
                      "on a dark oval, and negated that oval becomes a thick light 0 with the 1 as its dark hole. The "
                      "background, which every digit shares and negation inverts, belongs to neither branch and "
                      "stays noisy. The 4×4 jigsaw gives loose strokes with a hint of each digit. Both views are "
                      "exact permutations (or a sign flip), so the mechanism is right; 28 px is the limit.",
        "class": _BW + "Both views are exact permutations (or a sign flip), so the mechanism is that of A1.8; at "
                 "28 px the figure shows how much of each digit survives the view.",
        "any": _BW + "Negation swaps light and dark, so one prompt lives in the shadows of the other.",
    },
    "A1.9a": {
        "emoji": "The staff pair in the emoji model's words: \"a skull\" from afar, \"waterfall\" close up, with "
                 "this model's own blur (kernel {kernel}, σ {sigma:g}). On the shipped emoji, close up, blue curling "
                 "strokes of the wave; small, a pale shape with a dark band of spots where a skull's eyes would be — "
                 "a hint of the skull, not a clear one: this pair half works.",
        "text": "The staff pair: a skull from afar, waterfalls up close.",
        "mnist-flow": _HYBRID_28 + "on mnist-flow the far digit dominates: a 0 with at most a faint trace of the 1. "
                      "A stronger blur would give the close-up digit more room; the tour keeps the course's.",
        "any": _HYBRID_28 + "the far digit tends to dominate. A stronger blur would give the close-up digit more "
               "room; the tour keeps the course's.",
    },
    "A1.9b": {
        "emoji": "On the shipped emoji \"a rocket ship\" / \"a pencil\" is one diagonal object, red at both ends and "
                 "blue in the middle, at both sizes: the two emoji share their diagonal, so nothing tells the views "
                 "apart. \"An old man\" / \"dog\" is a yellow face from afar, and close up the outlines of a "
                 "dog's ears at its sides: a trace of the dog. On the README's eight measured pairs a third of the "
                 "seeds show both prompts.",
        "text": "Two more hybrids of the staff prompts.",
        "mnist-flow": "Two more digit pairs (far / close): 8 / 3 and 7 / 1, chosen because they share strokes. As in "
                      "A1.9a the far digit dominates at 28 px: on mnist-flow the 8 / 3 is an 8 (a 3 is the right "
                      "half of an 8, so nothing is left for the close-up digit to add), and the 7 / 1 a 7 whose stem "
                      "is the 1.",
        "any": "Two more digit pairs (far / close): 8 / 3 and 7 / 1, chosen because they share strokes. As in A1.9a "
               "the far digit's low frequencies carry most of the shape at 28 px; the figure shows what the "
               "close-up digit adds.",
    },
}

import math
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file

from difflab.errors import UserError
from difflab.evaluation import (
    AugmentConfig,
    Classifier,
    ClassifierConfig,
    class_accuracy,
    evaluate_samples,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
    load_classifier,
    mmd2_unbiased,
    polynomial_kernel,
    random_affine,
    save_classifier,
    train_classifier,
)

SMALL = ClassifierConfig(channels=(4, 8, 8), feature_dim=16, dropout=0.1)


def blobs(n: int, seed: int, shift: float = 0.0) -> SimpleNamespace:
    """Synthetic 10-class images: class k is a bright 6×6 square at its own spot, jittered, on noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = 0.1 * torch.rand(n, 1, 28, 28, generator=g) + shift
    for i, k in enumerate(labels.tolist()):
        row, col = 3 + 8 * (k // 4) + int(torch.randint(-1, 2, (1,), generator=g)), 3 + 6 * (k % 4)
        images[i, 0, row:row + 6, col:col + 6] += 0.8
    return SimpleNamespace(name="blobs", images=images.clamp(0, 1), labels=labels,
                           class_names=[f"c{k}" for k in range(10)], split="train")


@pytest.fixture(scope="module")
def trained():
    model, report = train_classifier(blobs(300, 0), blobs(100, 1), epochs=3, batch_size=32, lr=1e-2, seed=0,
                                     progress=False, config=SMALL)
    return model, report


# --- the classifier and its file ---------------------------------------------------------------

def test_classifier_shapes_and_input_check():
    model = Classifier().eval()
    x = torch.rand(3, 1, 28, 28)
    assert model.features(x).shape == (3, 256) and model(x).shape == (3, 10)
    with pytest.raises(UserError, match=r"\(N, 1, 28, 28\)"):
        model(torch.rand(3, 3, 28, 28))


def test_save_load_round_trip_keeps_outputs_config_names_and_metadata(tmp_path, trained):
    model, _ = trained
    path = save_classifier(model, tmp_path / "c.safetensors", {"dataset": "blobs", "test_accuracy": 0.5})
    loaded = load_classifier(path)
    x = blobs(8, 5).images
    assert torch.equal(loaded(x), model.eval()(x)) and not loaded.training
    assert loaded.config == SMALL and loaded.class_names == model.class_names
    assert loaded.metadata == {"dataset": "blobs", "test_accuracy": 0.5}
    with pytest.raises(UserError, match="already exists"):
        save_classifier(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temporary file left behind


def test_load_rejects_missing_foreign_and_corrupt_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_classifier(tmp_path / "nope.safetensors")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(UserError, match="not a difflab classifier"):
        load_classifier(tmp_path / "foreign.safetensors")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match="not a readable safetensors"):
        load_classifier(tmp_path / "corrupt.safetensors")


# --- training ------------------------------------------------------------------------------------

def test_training_learns_synthetic_classes_reproducibly_and_spares_global_rng(trained):
    model, report = trained
    assert report.test_accuracy >= 0.9 and report.n_train == 300 and report.n_test == 100
    assert len(report.epoch_losses) == 3 and report.epoch_losses[-1] < report.epoch_losses[0]
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    again, _ = train_classifier(blobs(300, 0), blobs(100, 1), epochs=3, batch_size=32, lr=1e-2, seed=0,
                                progress=False, config=SMALL)
    assert torch.equal(torch.rand(1), expected)  # training did not consume the caller's random stream
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values()))


def test_training_survives_a_last_batch_of_one_image():
    _, report = train_classifier(blobs(33, 0), blobs(10, 1), epochs=1, batch_size=32, progress=False, config=SMALL)
    assert report.n_train == 33 and len(report.epoch_losses) == 1


def test_random_affine_identity_and_pure_shift():
    x = blobs(4, 0).images
    g = torch.Generator().manual_seed(0)
    still = AugmentConfig(shift_px=0, rotate_deg=0, scale=0)
    assert torch.allclose(random_affine(x, still, g), x, atol=1e-5)
    flipped = random_affine(x, AugmentConfig(0, 0, 0, hflip=True), torch.Generator().manual_seed(1))
    assert all(torch.allclose(f, i, atol=1e-5) or torch.allclose(f, i.flip(-1), atol=1e-5) for f, i in zip(flipped, x))
    moved = random_affine(x, AugmentConfig(shift_px=2, rotate_deg=0, scale=0), g)
    assert not torch.allclose(moved, x) and moved.shape == x.shape
    assert torch.allclose(moved.sum((1, 2, 3)), x.sum((1, 2, 3)), rtol=0.15)  # a shift keeps the ink (up to borders)


# --- Fréchet distance ----------------------------------------------------------------------------

def test_frechet_is_zero_for_identical_sets_and_symmetric():
    a, b = torch.randn(200, 8), torch.randn(300, 8) * 2 + 1
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_frechet_closed_form_for_diagonal_gaussians():
    mu_a, mu_b = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    var_a, var_b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    # ‖μa − μb‖² + Σ_i (σa_i − σb_i)² for commuting (diagonal) covariances
    exact = (mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum()
    assert frechet_distance_from_stats(mu_a, torch.diag(var_a), mu_b, torch.diag(var_b)) == pytest.approx(exact.item())
    g = torch.Generator().manual_seed(0)
    a = mu_a + var_a.sqrt() * torch.randn(50_000, 3, generator=g, dtype=torch.float64)
    b = mu_b + var_b.sqrt() * torch.randn(50_000, 3, generator=g, dtype=torch.float64)
    assert frechet_distance(a, b) == pytest.approx(exact.item(), rel=0.02)


def test_frechet_matches_scipy_sqrtm_on_full_covariances_and_handles_singular_ones():
    linalg = pytest.importorskip("scipy.linalg")
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(40, 6, generator=g), torch.randn(40, 6, generator=g) @ torch.randn(6, 6, generator=g)
    ca, cb = torch.cov(a.T.double()), torch.cov(b.T.double())
    reference = ((a.double().mean(0) - b.double().mean(0)).square().sum() + ca.trace() + cb.trace()
                 - 2 * linalg.sqrtm((ca @ cb).numpy()).real.trace()).item()
    assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-6)
    few = torch.randn(5, 16, generator=g)  # N < F: rank-deficient covariances
    assert math.isfinite(frechet_distance(few, few + 1)) and frechet_distance(few, few) == pytest.approx(0, abs=1e-9)


# --- KID -----------------------------------------------------------------------------------------

def test_mmd2_unbiased_equals_its_definition():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    k = lambda u, v: (u @ v / 3 + 1) ** 3
    m = 5
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    between = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert mmd2_unbiased(x, y) == pytest.approx((within - 2 * between).item())
    assert polynomial_kernel(x, y).shape == (5, 5)


def test_mmd2_is_unbiased_where_the_plug_in_estimate_is_not():
    g = torch.Generator().manual_seed(0)
    draws = [torch.randn(2, 10, 4, generator=g, dtype=torch.float64) for _ in range(3000)]
    unbiased = torch.tensor([mmd2_unbiased(x, y) for x, y in draws])
    plug_in = torch.tensor([(polynomial_kernel(x, x).mean() + polynomial_kernel(y, y).mean()
                             - 2 * polynomial_kernel(x, y).mean()).item() for x, y in draws])
    stderr = unbiased.std() / math.sqrt(len(draws))
    assert abs(unbiased.mean()) < 4 * stderr  # E[MMD²_u] = 0 for one distribution
    assert plug_in.mean() > 10 * stderr and (unbiased < 0).any()


def test_kid_near_zero_for_one_distribution_and_positive_for_a_shift():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    same = kernel_inception_distance(a, b, subsets=20, subset_size=100, seed=0)
    shifted = kernel_inception_distance(a, b + 0.5, subsets=20, subset_size=100, seed=0)
    assert abs(same.mean) < 3 * same.std and same.subset_size == 100 and same.subsets == 20
    assert shifted.mean > 10 * abs(same.mean) and shifted.mean > 3 * shifted.std
    assert kernel_inception_distance(a, b, subsets=3, subset_size=10_000).subset_size == 400


# --- class accuracy and the evaluation ------------------------------------------------------------

class MeanThreshold(torch.nn.Module):
    """Predicts class 1 for images whose mean exceeds 0.5, class 0 otherwise."""

    def forward(self, x):
        bright = (x.mean((1, 2, 3)) > 0.5).float()
        return torch.stack([1 - bright, bright], dim=1)


def test_class_accuracy_counts_intended_labels():
    images = torch.cat([torch.zeros(3, 1, 28, 28), torch.ones(1, 1, 28, 28)])
    assert class_accuracy(MeanThreshold(), images, torch.tensor([0, 0, 1, 1])) == 0.75
    with pytest.raises(UserError):
        class_accuracy(MeanThreshold(), images, torch.tensor([0, 1]))


def test_evaluate_samples_real_like_samples_sit_at_the_floor_and_others_above_it(trained):
    model, _ = trained
    real, good = blobs(200, 10).images, blobs(100, 11)
    bad = SimpleNamespace(images=0.5 * blobs(100, 12).images + 0.5 * blobs(100, 13).images.flip(-1))  # blended pairs
    kw = {"real_images": real, "seed": 0, "kid_subsets": 10, "kid_subset_size": 50}
    at_floor = evaluate_samples(model, good.images, good.labels, **kw)
    above = evaluate_samples(model, bad.images, None, **kw)
    assert (at_floor.n, at_floor.n_samples, at_floor.n_real) == (100, 100, 200)
    assert at_floor.fid < 3 * at_floor.fid_floor and above.fid > 10 * above.fid_floor
    assert above.kid > 10 * abs(above.kid_floor) and above.fid_floor == at_floor.fid_floor
    assert at_floor.class_accuracy >= 0.9 and above.class_accuracy is None
    line = at_floor.summary()
    assert "real-vs-real floor" in line and "at N=100)" in line and "class accuracy" in line
    assert "class accuracy" not in above.summary()


def test_evaluate_samples_with_a_small_real_set_uses_the_largest_disjoint_split(trained):
    model, _ = trained
    result = evaluate_samples(model, blobs(50, 3).images, None, blobs(60, 4).images, kid_subsets=2)
    assert (result.n, result.n_samples, result.n_real) == (30, 50, 60)
    assert result.kid_subset_size == 15 and result.kid_std > 0  # subsets of half of n vary
    assert "N=30, limited by 60 real images" in result.summary()


def test_evaluate_samples_rejects_minus_one_to_one_images_and_tiny_sets(trained):
    model, _ = trained
    real = blobs(20, 0).images
    with pytest.raises(UserError, match=r"\(x \+ 1\) / 2"):
        evaluate_samples(model, real * 2 - 1, None, real)
    with pytest.raises(UserError, match="at least 2 samples"):
        evaluate_samples(model, real[:1], None, real)
    with pytest.raises(UserError, match="labels"):
        evaluate_samples(model, real, torch.zeros(3, dtype=torch.long), real)


def test_a_classifier_stored_in_float16_loads_as_float32_with_the_rounded_weights(tmp_path, trained):
    model, _ = trained
    path = save_classifier(model, tmp_path / "c16.safetensors", dtype=torch.float16)
    assert path.stat().st_size < 0.6 * save_classifier(model, tmp_path / "c32.safetensors").stat().st_size
    loaded = load_classifier(path)
    for name, value in loaded.state_dict().items():
        original = model.state_dict()[name]
        assert value.dtype == original.dtype
        expected = original.half().float() if original.is_floating_point() else original
        assert torch.equal(value, expected), name

import pytest
import torch

from difflab.errors import UserError
from difflab.illusions.views import VIEWS, View, check_view, get_view, parse_views

SHAPES = [(1, 28, 28), (3, 64, 64)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(VIEWS))
def test_every_view_is_an_exact_orthogonal_bijection(name, shape):
    view = check_view(get_view(name), shape)
    x = torch.randn(2, *shape)
    assert torch.equal(view.inverse_view(view.view(x)), x)
    assert torch.equal(view.view(view.inverse_view(x)), x)
    assert torch.isclose(view.view(x).norm(), x.norm())
    if name != "identity":
        assert not torch.equal(view.view(x), x)


def test_geometric_views_are_what_they_say():
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(get_view("flip").view(x), x.flip(-2))  # upside down: the height axis (pitfall 13)
    assert torch.equal(get_view("mirror").view(x), x.flip(-1))
    assert torch.equal(get_view("rot90").view(x), torch.rot90(x, 1, (-2, -1)))
    assert torch.equal(get_view("rot180").view(x), torch.rot90(x, 2, (-2, -1)))
    assert torch.equal(get_view("rot270").view(get_view("rot90").view(x)), x)
    assert torch.equal(get_view("negate").view(x), -x)


def test_inner_circle_turns_only_the_disc():
    x = torch.randn(1, 1, 28, 28)
    quarter = get_view("inner_circle:90")
    y = x
    for _ in range(4):
        y = quarter.view(y)
    assert torch.equal(y, x)
    half = get_view("inner_circle").view(x)
    assert torch.equal(half[..., 0, :], x[..., 0, :]) and torch.equal(half[..., :, -1], x[..., :, -1])
    assert torch.equal(half[..., 14, 14], x[..., 13, 13])


def test_skew_rolls_columns_and_permutations_move_blocks():
    x = torch.randn(1, 1, 28, 28)
    skewed = get_view("skew:0.5").view(x)
    assert torch.equal(skewed[..., :, 27], torch.roll(x[..., :, 27], 7, dims=-1))
    patches = get_view("patch_permute").view(x)  # 7-pixel patches at 28 px: a 4×4 grid
    blocks = x.unfold(2, 7, 7).unfold(3, 7, 7).reshape(16, 7, 7)
    moved = patches.unfold(2, 7, 7).unfold(3, 7, 7).reshape(16, 7, 7)
    assert all(any(torch.equal(b, m) for m in moved) for b in blocks)
    assert not torch.equal(get_view("pixel_permute:1").view(x), get_view("pixel_permute:2").view(x))


def test_names_and_arguments():
    assert [v.name for v in parse_views("identity, rot180")] == ["identity", "rot180"]
    for bad in ("rot45", "flip:2", "jigsaw:x", "pixel_permute:-1", ""):
        with pytest.raises(UserError):
            parse_views(bad)
    with pytest.raises(UserError):
        check_view(get_view("jigsaw:5"), (1, 28, 28))
    with pytest.raises(UserError):
        check_view(get_view("rot90"), (1, 28, 32))


class Scale(View):
    name = "scale"

    def view(self, x):
        return 2 * x

    def inverse_view(self, x):
        return x / 2


class ChannelShear(View):
    """Invertible and linear, keeps per-pixel means, but correlates channels: not orthogonal."""

    name = "shear"

    def view(self, x):
        return torch.cat([x[:, :1] + 0.5 * x[:, 1:2], x[:, 1:]], 1)

    def inverse_view(self, x):
        return torch.cat([x[:, :1] - 0.5 * x[:, 1:2], x[:, 1:]], 1)


class Shift(View):
    name = "shift"

    def view(self, x):
        return x + 1

    def inverse_view(self, x):
        return x - 1


class Blur(View):
    name = "blur"

    def view(self, x):
        return (x + torch.roll(x, 1, -1)) / 2

    def inverse_view(self, x):
        return x


class Crop(View):
    name = "crop"

    def view(self, x):
        return x[..., 1:, :]

    def inverse_view(self, x):
        return x


@pytest.mark.parametrize("view,message", [(Scale(), "statistics"), (ChannelShear(), "statistics"),
                                          (Shift(), "not linear"), (Blur(), "not invertible"),
                                          (Crop(), "shape")])
def test_check_view_rejects_bad_views(view, message):
    with pytest.raises(UserError, match=message):
        check_view(view, (3, 16, 16))


def test_variance_moves_without_signs():
    x = torch.rand(1, 1, 4, 4)
    assert torch.equal(get_view("negate").inverse_view_variance(x), x)
    assert torch.equal(get_view("rot90").inverse_view_variance(x), get_view("rot90").inverse_view(x))

    class SignedFlip(View):
        def view(self, x):
            return -x.flip(-1)

        def inverse_view(self, x):
            return -x.flip(-1)
    assert torch.allclose(SignedFlip().inverse_view_variance(x), x.flip(-1))

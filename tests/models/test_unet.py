"""The course UNet family (spec §3.1) as maths and behaviour: sizes, conditioning rules, errors."""

import json

import pytest
import torch
from torch import nn

from difflab.models.unet import Conv, CourseUNet, DownConv, Flatten, Unflatten, UpConv, count_parameters

D = 4  # tiny hidden width: every test here runs in milliseconds on a CPU


def images(n=2, size=(28, 28), seed=0):
    return torch.rand(n, 1, *size, generator=torch.Generator().manual_seed(seed))


def one_hot(labels, num_classes=10):
    return nn.functional.one_hot(torch.tensor(labels), num_classes).float()


def tiny(conditioning="none", time_mode="add", seed=0, **kw):
    """A D = 4 net in eval mode whose BatchNorm statistics come from one random batch.

    Default-initialised layers shrink activations ~6× each, so with the initial BN statistics
    (mean 0, var 1) the decoder's contribution would be ~1e-6; calibrated BN keeps every
    activation near unit scale, as in a trained net, so effects are large and tests are sharp.
    """
    torch.manual_seed(seed)
    net = CourseUNet(hidden=D, conditioning=conditioning, time_mode=time_mode, **kw)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average: after one batch, exactly its statistics
    x = torch.rand(8, 1, *net.image_hw)
    t = torch.rand(8) if conditioning != "none" else None
    c = one_hot(list(range(8))) if conditioning == "time+class" else None
    with torch.no_grad():
        net.train()(x, t, c)
    return net.eval()


def zero_last_linear(block, bias=0.0):
    """Make an FCBlock output the constant `bias` whatever its input."""
    with torch.no_grad():
        block[2].weight.zero_()
        block[2].bias.fill_(bias)


@pytest.mark.parametrize("kw, expected", [
    (dict(hidden=128), 7_891_073),
    (dict(hidden=64), 1_975_361),
    (dict(hidden=64, conditioning="time", time_mode="add"), 1_996_417),
    (dict(hidden=64, conditioning="time", time_mode="mul"), 1_996_417),
    (dict(hidden=64, conditioning="time+class"), 2_019_201),
])
def test_parameter_counts_equal_the_spec_checks(kw, expected):
    assert count_parameters(CourseUNet(**kw)) == expected


def test_bottleneck_layers_at_28_are_the_spec_k7_ops():
    net = tiny()
    assert net.flatten[0].kernel_size == (7, 7)
    assert net.u0[0].kernel_size == (7, 7) and net.u0[0].stride == (7, 7) and net.u0[0].padding == (0, 0)


def test_count_parameters_counts_weights_and_biases():
    assert count_parameters(nn.Linear(3, 2)) == 3 * 2 + 2


@pytest.mark.parametrize("size", [(28, 28), (32, 20)])
@pytest.mark.parametrize("conditioning", ["none", "time", "time+class"])
def test_output_shape_equals_input_shape(conditioning, size):
    net = tiny(conditioning, image_size=size)
    x = images(size=size)
    t = torch.rand(2) if conditioning != "none" else None
    c = one_hot([1, 2]) if conditioning == "time+class" else None
    assert net(x, t, c).shape == x.shape


@pytest.mark.parametrize("time_mode", ["add", "mul"])
def test_different_t_gives_different_output(time_mode):
    net, x = tiny("time", time_mode), images()
    with torch.no_grad():
        diff = net(x, torch.full((2,), 0.1)) - net(x, torch.full((2,), 0.9))
    assert diff.abs().max() > 1e-4


def test_t_of_shape_n_and_n1_are_the_same():
    net, x, t = tiny("time"), images(), torch.tensor([0.2, 0.7])
    with torch.no_grad():
        torch.testing.assert_close(net(x, t), net(x, t[:, None]))


def test_class_changes_output_and_null_class_differs_from_one_hot():
    net, x, t = tiny("time+class"), images(), torch.full((2,), 0.5)
    with torch.no_grad():
        three, seven, null = (net(x, t, c) for c in (one_hot([3, 3]), one_hot([7, 7]), torch.zeros(2, 10)))
    assert (three - seven).abs().max() > 1e-4
    assert (three - null).abs().max() > 1e-4


def unconditional_twin(net):
    """An unconditional net with the shared weights of `net` (everything but the FCBlocks)."""
    twin = CourseUNet(hidden=D).eval()
    missing, unexpected = twin.load_state_dict(net.state_dict(), strict=False)
    assert not missing and all(k.startswith("fc") for k in unexpected)
    return twin


def test_add_mode_is_additive_zero_embedding_gives_the_unconditional_net():
    net, x = tiny("time", "add"), images()
    zero_last_linear(net.fc1_t)
    zero_last_linear(net.fc2_t)
    with torch.no_grad():
        expected = unconditional_twin(net)(x)
        for t in (0.0, 0.3, 1.0):
            torch.testing.assert_close(net(x, torch.full((2,), t)), expected)


def test_mul_mode_is_multiplicative_zero_embedding_gives_a_t_free_other_output():
    net, x = tiny("time", "mul"), images()
    zero_last_linear(net.fc1_t)
    zero_last_linear(net.fc2_t)
    with torch.no_grad():
        at_0, at_1 = net(x, torch.zeros(2)), net(x, torch.ones(2))
        torch.testing.assert_close(at_0, at_1)
        assert (at_0 - unconditional_twin(net)(x)).abs().max() > 1e-4
        zero_last_linear(net.fc1_t, bias=1.0)  # u · 1 = u: back to the unconditional path
        zero_last_linear(net.fc2_t, bias=1.0)
        torch.testing.assert_close(net(x, torch.zeros(2)), unconditional_twin(net)(x))


@pytest.mark.parametrize("time_mode", ["add", "mul"])
def test_class_multiplies_and_time_adds_whatever_the_time_mode(time_mode):
    net, x, t = tiny("time+class", time_mode), images(), torch.tensor([0.2, 0.8])
    zero_last_linear(net.fc1_c, bias=1.0)  # c1 = c2 = 1: u0 ← u0 + t1, u1 ← u1 + t2
    zero_last_linear(net.fc2_c, bias=1.0)
    time_net = CourseUNet(hidden=D, conditioning="time", time_mode="add").eval()
    missing, unexpected = time_net.load_state_dict(net.state_dict(), strict=False)
    assert not missing and all(k.startswith(("fc1_c", "fc2_c")) for k in unexpected)
    with torch.no_grad():
        torch.testing.assert_close(net(x, t, one_hot([4, 9])), time_net(x, t))


def test_skip_connection_comes_first_in_each_concatenation():
    net, x, seen = tiny(), images(), {}
    for name in ("e0", "e1", "e2", "u0", "u1", "u2", "h"):
        net.get_submodule(name).register_forward_hook(
            lambda m, i, o, name=name: seen.update({name: o, name + "_in": i[0]}))
    with torch.no_grad():
        net(x)
    for cat_in, skip, dec in (("u1_in", "e2", "u0"), ("u2_in", "e1", "u1"), ("h_in", "e0", "u2")):
        torch.testing.assert_close(seen[cat_in], torch.cat([seen[skip], seen[dec]], dim=1))


@pytest.mark.parametrize("op, in_shape, out_shape", [
    (Conv(3, 5), (3, 8, 8), (5, 8, 8)),
    (DownConv(3, 5), (3, 8, 8), (5, 4, 4)),
    (UpConv(3, 5), (3, 8, 8), (5, 16, 16)),
    (Flatten((7, 7)), (3, 7, 7), (3, 1, 1)),
    (Unflatten(3, (7, 7)), (3, 1, 1), (3, 7, 7)),
])
def test_simple_ops_change_shape_as_the_spec_table_and_end_with_gelu(op, in_shape, out_shape):
    torch.manual_seed(0)
    y = op.train()(10 * torch.randn(2, *in_shape))
    assert y.shape == (2, *out_shape)
    assert y.min() >= -0.1701 and y.min() < 0  # GELU last: its minimum is about -0.16997


@pytest.mark.parametrize("conditioning", ["none", "time", "time+class"])
def test_in_eval_mode_an_image_does_not_depend_on_the_rest_of_the_batch(conditioning):
    net, x = tiny(conditioning), images(n=3)
    t = torch.tensor([0.1, 0.5, 0.9]) if conditioning != "none" else None
    c = one_hot([0, 5, 8]) if conditioning == "time+class" else None
    with torch.no_grad():
        whole = net(x, t, c)
        alone = net(x[1:2], None if t is None else t[1:2], None if c is None else c[1:2])
    torch.testing.assert_close(alone, whole[1:2])


def test_config_rebuilds_the_same_net_through_json():
    net = tiny("time+class", "mul", image_size=(32, 20))
    config = json.loads(json.dumps(net.config))
    again = CourseUNet.from_config(config).eval()
    again.load_state_dict(net.state_dict())
    x, t, c = images(size=(32, 20)), torch.rand(2), one_hot([1, 2])
    with torch.no_grad():
        torch.testing.assert_close(again(x, t, c), net(x, t, c))
    with pytest.raises(ValueError, match="unknown"):
        CourseUNet.from_config({**config, "num_hiddens": 8})


@pytest.mark.parametrize("conditioning, t, c, match", [
    ("time", None, None, "needs t"),
    ("time+class", None, one_hot([1, 2]), "needs t"),
    ("time+class", torch.rand(2), None, "needs c"),
    ("none", torch.rand(2), None, "takes no t"),
    ("none", None, one_hot([1, 2]), "takes no c"),
    ("time", torch.rand(2), one_hot([1, 2]), "takes no c"),
    ("time", torch.tensor([3, 100]), None, "float"),
    ("time", torch.rand(2, 2), None, "shape"),
    ("time+class", torch.rand(2), one_hot([1, 2], num_classes=3), "shape"),
])
def test_missing_or_unexpected_inputs_raise_value_error(conditioning, t, c, match):
    with pytest.raises(ValueError, match=match):
        tiny(conditioning)(images(), t, c)


def test_wrong_image_shape_and_bad_constructor_arguments_raise_value_error():
    with pytest.raises(ValueError, match="x must be"):
        tiny()(images(size=(32, 32)))
    for kw in (dict(conditioning="class"), dict(time_mode="sum"), dict(hidden=0), dict(image_size=30)):
        with pytest.raises(ValueError):
            CourseUNet(**kw)

"""Does every check of course_lib.checks follow the one error policy (TypeError for a wrong type,
ValueError for a wrong value, the message naming the argument and showing the value), return what
it checked, and draw noise reproducibly on the input's dtype and device?"""

import re

import pytest
import torch

from course_lib import checks
from course_lib.device import available_devices

DEVICES = [d.type for d in available_devices()]

# (call, exception, words the message must contain: the argument's name and what was given)
REFUSALS = [
    (lambda: checks.tensor([1.0], "x"), TypeError, ["x", "list"]),
    (lambda: checks.tensor(torch.arange(3), "x", floating=True), TypeError, ["x", "torch.int64"]),
    (lambda: checks.tensor(torch.zeros(3), "x", min_dim=2), ValueError, ["x", "(3,)"]),
    (lambda: checks.floats(mu=0.0, sigma="1"), TypeError, ["sigma", "str"]),
    (lambda: checks.floats(mu=True), TypeError, ["mu", "bool"]),
    (lambda: checks.floats(mu=torch.zeros(3), sigma=torch.ones(4)), ValueError, ["mu(3,)", "sigma(4,)"]),
    (lambda: checks.positive(torch.tensor([1.0, -2.0]), "sigma_q"), ValueError, ["sigma_q", "-2.0"]),
    (lambda: checks.positive(torch.tensor([float("nan")]), "sigma"), ValueError, ["sigma", "nan"]),
    (lambda: checks.nonnegative(torch.tensor([0.0, -0.5]), "p"), ValueError, ["p", "-0.5"]),
    (lambda: checks.finite(torch.tensor([0.0, float("inf")]), "x"), ValueError, ["x", "inf"]),
    (lambda: checks.positive_int(2.0, "n"), TypeError, ["n", "float"]),
    (lambda: checks.positive_int(True, "n"), TypeError, ["n", "bool"]),
    (lambda: checks.positive_int(0, "n"), ValueError, ["n", "0"]),
    (lambda: checks.positive_int(-1, "steps", minimum=0), ValueError, ["steps", "-1"]),
    (lambda: checks.number("0.1", "lr"), TypeError, ["lr", "str"]),
    (lambda: checks.number(0.0, "lr", low=0, open_low=True), ValueError, ["lr", "0.0"]),
    (lambda: checks.number(1.5, "p", low=0, high=1), ValueError, ["p", "1.5"]),
    (lambda: checks.function(3, "f"), TypeError, ["f", "int"]),
    (lambda: checks.generator(0), TypeError, ["generator", "int"]),
    (lambda: checks.randn((2,), torch.zeros(1), generator=7), TypeError, ["generator", "int"]),
    (lambda: checks.matrix(torch.zeros(3), "x", "(N, D)"), ValueError, ["x", "(N, D)", "(3,)"]),
    (lambda: checks.matrix(None, "x"), TypeError, ["x", "NoneType"]),
    (lambda: checks.same_shape(mu=torch.zeros(3), log_var=torch.zeros(2)), ValueError,
     ["mu and log_var", "(3,) and (2,)"]),
    (lambda: checks.same_shape(mu=torch.zeros(3), log_var=[0.0]), TypeError, ["log_var", "list"]),
    (lambda: checks.float_tensors(a=torch.zeros(2), b=1.0), TypeError, ["b", "float"]),
    (lambda: checks.float_like("2", "bandwidth", torch.zeros(2)), TypeError, ["bandwidth", "str"]),
]


@pytest.mark.parametrize("call, error, words", REFUSALS, ids=[f"refusal{i}" for i in range(len(REFUSALS))])
def test_each_refusal_has_the_right_type_and_names_the_argument_and_the_value(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error   # not a subclass standing in for the other kind
    for word in words:
        assert word in str(info.value), f"{word!r} missing from {str(info.value)!r}"


def test_a_refused_value_message_reads_as_the_policy_says():
    with pytest.raises(ValueError, match=re.escape("sigma_q must be > 0, got -1.0")):
        checks.positive(torch.tensor(-1.0), "sigma_q")


def test_checks_return_what_they_checked():
    t = torch.arange(6.0).reshape(2, 3)
    assert checks.tensor(t, "t") is t and checks.matrix(t, "t") is t
    assert checks.positive(t + 1, "t").equal(t + 1) and checks.nonnegative(t, "t") is t and checks.finite(t, "t") is t
    assert checks.positive_int(3, "n") == 3 and type(checks.positive_int(3, "n")) is int
    assert checks.number(2, "x") == 2.0 and type(checks.number(2, "x")) is float
    f = len
    assert checks.function(f, "f") is f
    g = torch.Generator()
    assert checks.generator(g) is g and checks.generator(None) is None
    a, b = checks.same_shape(a=t, b=t.clone())
    assert a is t and b.shape == t.shape


def test_floats_promote_to_one_floating_dtype_on_the_tensors_device():
    mu, sigma = checks.floats(mu=torch.arange(3), sigma=2)             # integers -> float32
    assert mu.dtype == sigma.dtype == torch.float32 and sigma.ndim == 0
    mu, sigma = checks.floats(mu=torch.zeros(3, dtype=torch.float64), sigma=torch.ones(1))
    assert mu.dtype == sigma.dtype == torch.float64
    (x,) = checks.floats(x=0.5)
    assert x.dtype == torch.get_default_dtype() and x.item() == 0.5
    a, b = checks.float_tensors(a=torch.zeros(2, 3, dtype=torch.float64), b=torch.arange(4))  # no broadcasting asked
    assert a.dtype == b.dtype == torch.float64 and b.shape == (4,)
    assert checks.as_floating(torch.arange(3)).dtype == torch.get_default_dtype()
    half = torch.zeros(2, dtype=torch.float16)
    assert checks.as_floating(half) is half


def test_float_like_keeps_a_python_number_exact_in_float64():
    h = checks.float_like(0.1, "bandwidth", torch.zeros(2, dtype=torch.float64))
    assert h.dtype == torch.float64 and h.item() == 0.1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_randn_with_equal_seeds_gives_equal_noise_on_the_inputs_dtype(dtype):
    like = torch.zeros(2, dtype=dtype)
    a = checks.randn((4, 3), like, torch.Generator().manual_seed(5))
    b = checks.randn((4, 3), like, torch.Generator().manual_seed(5))
    c = checks.randn((4, 3), like, torch.Generator().manual_seed(6))
    assert a.dtype == dtype and a.shape == (4, 3)
    assert torch.equal(a, b) and not torch.equal(a, c)
    u = checks.rand((1000,), like, torch.Generator().manual_seed(5))
    assert u.dtype == dtype and bool(((u >= 0) & (u < 1)).all())
    # the same numbers as torch's own sampler drawing from that generator
    assert torch.equal(a, torch.randn(4, 3, dtype=dtype, generator=torch.Generator().manual_seed(5)))


def test_randn_on_integer_input_draws_in_the_default_dtype_and_without_generator_uses_the_global_one():
    assert checks.randn((3,), torch.arange(3)).dtype == torch.get_default_dtype()
    torch.manual_seed(11)
    a = checks.randn((3,), torch.zeros(1))
    torch.manual_seed(11)
    assert torch.equal(a, torch.randn(3))


@pytest.mark.parametrize("device", DEVICES)
def test_noise_lands_on_the_inputs_device_whatever_the_generators_device(device):
    like = torch.zeros(1, device=device)
    eps = checks.randn((5,), like, torch.Generator().manual_seed(0))   # a CPU generator
    assert eps.device.type == device
    torch.testing.assert_close(eps.cpu(), checks.randn((5,), torch.zeros(1), torch.Generator().manual_seed(0)))


@pytest.mark.skipif(len(DEVICES) < 2, reason="needs a second device")
def test_tensors_on_two_devices_are_refused_naming_both():
    with pytest.raises(ValueError, match="mu and log_var must be on the same device"):
        checks.same_shape(mu=torch.zeros(2), log_var=torch.zeros(2, device=DEVICES[1]))

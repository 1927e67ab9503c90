"""Does nets.mlp build Linear layers with the activation between them (none after the last), in the
order a hand-written nn.Sequential has, so that seeded models keep their weights?"""

import pytest
import torch
from torch import nn

from course_lib.nets import mlp


def test_layers_alternate_linear_and_activation_with_none_after_the_last():
    net = mlp([5, 7, 3, 2])
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [(5, 7), (7, 3), (3, 2)]
    assert [type(m) for m in mlp([4, 1])] == [nn.Linear]
    assert [type(m) for m in mlp([4, 8, 1], activation=nn.LeakyReLU)] == [nn.Linear, nn.LeakyReLU, nn.Linear]


def test_shapes_keep_the_leading_axes():
    assert mlp([6, 4, 3])(torch.zeros(2, 5, 6)).shape == (2, 5, 3)


def test_seeded_weights_equal_those_of_the_same_network_written_by_hand():
    torch.manual_seed(0)
    built = mlp([6, 16, 16, 4], activation=nn.LeakyReLU)
    torch.manual_seed(0)
    by_hand = nn.Sequential(nn.Linear(6, 16), nn.LeakyReLU(), nn.Linear(16, 16), nn.LeakyReLU(), nn.Linear(16, 4))
    ours, theirs = built.state_dict(), by_hand.state_dict()
    assert list(ours) == list(theirs)   # same names (net.0.weight, ...) for saved checkpoints
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    x = torch.randn(3, 6)
    torch.testing.assert_close(built(x), by_hand(x))


@pytest.mark.parametrize("sizes, error, words", [
    ([4], ValueError, ["sizes", "[4]"]),
    ([4, 0, 2], ValueError, ["sizes[1]", "0"]),
    ([4, 2.5, 2], TypeError, ["sizes[1]", "float"]),
])
def test_bad_sizes_are_refused_naming_the_entry_and_value(sizes, error, words):
    with pytest.raises(error) as info:
        mlp(sizes)
    assert all(word in str(info.value) for word in words), str(info.value)

"""Small network builders shared by the lectures' models."""

from __future__ import annotations

from torch import nn

from . import checks


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers sizes[0] -> sizes[1] -> ... -> sizes[-1], ``activation()`` between them (none
    after the last). Shapes: (..., sizes[0]) -> (..., sizes[-1]).

    The layers are ``Linear, activation, Linear, ..., Linear`` in this order (the order of
    ``parameters()``), so a seeded model gets the same weights whatever builds it.
    """
    sizes = [checks.positive_int(n, f"sizes[{i}]") for i, n in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)

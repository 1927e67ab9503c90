"""Argument checks shared by every module of ``course_lib``: one error policy, written once.

Policy (see ``course_lib/__init__.py``): a value of the wrong *type* raises ``TypeError``, a value of
the right type but outside its domain raises ``ValueError``; both messages name the argument and
show what was given (``ValueError("sigma_q must be > 0, got -1.0")``). Each function returns what it
checked (converted where it says so), so a library function reads

    mu, sigma = checks.floats(mu=mu, sigma=sigma)
    checks.positive(sigma, "sigma")
    # formula ...

What there is:

- types and conversions: :func:`tensor`, :func:`matrix`, :func:`floats` (promote and broadcast),
  :func:`float_tensors` (promote only), :func:`float_like`, :func:`as_floating`, :func:`function`,
  :func:`positive_int`, :func:`number`, :func:`generator`;
- values: :func:`positive`, :func:`nonnegative`, :func:`finite`;
- arguments that must agree: :func:`same_shape`, :func:`same_device`;
- noise: :func:`randn`, :func:`rand`.

Randomness: :func:`generator` accepts ``None`` or a ``torch.Generator``; :func:`randn` and
:func:`rand` draw on the device and dtype of a reference tensor from that generator (a generator on
another device draws there and the result is moved), so library code never touches global seeds.
"""

from __future__ import annotations

import numbers

import torch


def tensor(value, name: str, *, floating: bool = False, min_dim: int = 0) -> torch.Tensor:
    """``value`` must be a ``torch.Tensor`` (floating-point if asked, at least ``min_dim`` axes)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(value).__name__}")
    if floating and not value.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} axes, got shape {tuple(value.shape)}")
    return value


def floats(**named) -> list[torch.Tensor]:
    """Tensors or Python numbers -> floating tensors of one promoted dtype on the tensors' device,
    checked to broadcast together (numbers become 0-d tensors)."""
    for name, value in named.items():
        if not isinstance(value, (torch.Tensor, numbers.Real)) or isinstance(value, bool):
            raise TypeError(f"{name} must be a tensor or a float, got {type(value).__name__}")
    given = [v for v in named.values() if isinstance(v, torch.Tensor)]
    device = given[0].device if given else None
    dtype = _float_dtype(given) if given else torch.get_default_dtype()
    out = [v.to(dtype) if isinstance(v, torch.Tensor) else torch.tensor(float(v), dtype=dtype, device=device)
           for v in named.values()]
    try:
        torch.broadcast_shapes(*(t.shape for t in out))
    except RuntimeError:
        shapes = ", ".join(f"{n}{tuple(t.shape)}" for n, t in zip(named, out))
        raise ValueError(f"shapes do not broadcast: {shapes}") from None
    return out


def float_tensors(**named) -> list[torch.Tensor]:
    """Tensors -> floating tensors of one promoted dtype (at least float32), shapes left as they are
    (for arguments that do not broadcast together, such as a mean (..., d) and a covariance (..., d, d))."""
    for name, value in named.items():
        tensor(value, name)
    dtype = _float_dtype(named.values())
    return [t.to(dtype) for t in named.values()]


def float_like(value, name: str, like: torch.Tensor) -> torch.Tensor:
    """A tensor or a Python number -> a tensor in ``like``'s (floating) dtype, on its device."""
    floats(**{name: value})
    dtype = like.dtype if like.dtype.is_floating_point else torch.get_default_dtype()
    return torch.as_tensor(value, dtype=dtype, device=like.device)


def as_floating(t: torch.Tensor) -> torch.Tensor:
    """``t`` itself if it is floating-point, else ``t`` in the default dtype (integer data -> floats)."""
    return t if t.dtype.is_floating_point else t.to(torch.get_default_dtype())


def matrix(value, name: str, layout: str = "(N, D)") -> torch.Tensor:
    """``value`` must be a tensor with exactly two axes, shaped as ``layout`` says (rows: examples)."""
    tensor(value, name)
    if value.dim() != 2:
        raise ValueError(f"{name} must have shape {layout}, got {tuple(value.shape)}")
    return value


def same_shape(**named) -> list[torch.Tensor]:
    """Tensors of one shape on one device, e.g. the mean and the log-variance of a diagonal Gaussian."""
    for name, value in named.items():
        tensor(value, name)
    same_device(**named)
    shapes = [tuple(t.shape) for t in named.values()]
    if len(set(shapes)) > 1:
        raise ValueError(f"{_names(named)} must have the same shape, got {_names(shapes)}")
    return list(named.values())


def same_device(**named) -> list[torch.Tensor]:
    """Tensors on one device (a library function follows its inputs' device, so they must agree)."""
    devices = [t.device for t in named.values()]
    if len(set(devices)) > 1:
        raise ValueError(f"{_names(named)} must be on the same device, got {_names(devices)}")
    return list(named.values())


def positive(t: torch.Tensor, name: str) -> torch.Tensor:
    """Every entry of ``t`` must be > 0 (NaN is not)."""
    bad = (t <= 0) | torch.isnan(t)
    if bool(bad.any()):
        raise ValueError(f"{name} must be > 0, got {t[bad].flatten()[0].item()}")
    return t


def nonnegative(t: torch.Tensor, name: str) -> torch.Tensor:
    """Every entry of ``t`` must be >= 0 (NaN is not)."""
    bad = (t < 0) | torch.isnan(t)
    if bool(bad.any()):
        raise ValueError(f"{name} must be >= 0, got {t[bad].flatten()[0].item()}")
    return t


def finite(t: torch.Tensor, name: str) -> torch.Tensor:
    """Every entry of ``t`` must be finite."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {t[~torch.isfinite(t)].flatten()[0].item()}")
    return t


def positive_int(n, name: str, minimum: int = 1) -> int:
    """``n`` must be an ``int`` (not a bool) >= ``minimum``."""
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return int(n)


def number(x, name: str, *, low: float | None = None, high: float | None = None,
           open_low: bool = False) -> float:
    """``x`` must be a real number in [low, high] ((low, high] with ``open_low``)."""
    if not isinstance(x, numbers.Real) or isinstance(x, bool):
        raise TypeError(f"{name} must be a number, got {type(x).__name__}")
    x = float(x)
    if low is not None and (x < low or (open_low and x == low)):
        raise ValueError(f"{name} must be {'>' if open_low else '>='} {low}, got {x}")
    if high is not None and x > high:
        raise ValueError(f"{name} must be <= {high}, got {x}")
    return x


def function(f, name: str):
    """``f`` must be callable."""
    if not callable(f):
        raise TypeError(f"{name} must be a function, got {type(f).__name__}")
    return f


def generator(g, name: str = "generator") -> torch.Generator | None:
    """``g`` must be ``None`` or a ``torch.Generator``."""
    if g is not None and not isinstance(g, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None, got {type(g).__name__}")
    return g


def randn(shape, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise of ``shape`` on ``like``'s device and dtype, drawn from ``generator``."""
    return _draw(torch.randn, shape, like, generator)


def rand(shape, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform [0, 1) noise of ``shape`` on ``like``'s device and dtype, drawn from ``generator``."""
    return _draw(torch.rand, shape, like, generator)


def _draw(sampler, shape, like: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    dtype = like.dtype if like.dtype.is_floating_point else torch.get_default_dtype()
    if generator(g) is None:
        return sampler(tuple(shape), dtype=dtype, device=like.device)
    return sampler(tuple(shape), dtype=dtype, device=g.device, generator=g).to(like.device)


def _float_dtype(tensors) -> torch.dtype:
    """The promoted dtype of ``tensors`` and float32 (the default dtype if that is not floating)."""
    dtype = torch.float32
    for t in tensors:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype if dtype.is_floating_point else torch.get_default_dtype()


def _names(items) -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

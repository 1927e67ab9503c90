"""Hidden tests of exercise 03 (``check("pca.pca_power_iteration", fn)``, ``check("pca.zca_whiten", fn)``).

Oracles, all computed after the submitted function has returned:

- ``pca_power_iteration``: the data are *built* with a known singular value decomposition,
  x = mean + U diag(s) V^T with U orthonormal and orthogonal to the all-ones vector (so the rows of
  V^T are exactly the principal directions), variances in a geometric ladder (each at most 0.6 times
  the one before, so 60+ iterations converge to machine precision and the order is unambiguous), a
  mean far from 0 (forgetting to centre tilts the top direction towards it). The judge compares
  with those rows of V^T, up to the sign of each row; it never runs an eigen solver. The generator
  contract is probed with ``iters = 1``, where the result still depends on the starting block: two
  calls with equally seeded generators must agree exactly, two different seeds must differ.
- ``zca_whiten``: scipy's matrix square root (``scipy.linalg.sqrtm``) of numpy's covariance
  (``np.cov``, N - 1) plus eps I, applied with a linear solve; not an eigendecomposition.
"""

from __future__ import annotations

import numpy as np
import torch

from . import Case, Failure, as_items, as_tensor, assert_close

# Every reference implementation in course_lib.pca is disabled while a submission runs
# (pca alone would hand over the components and, with k = D, everything whitening needs).
REFERENCES = tuple(f"course_lib.pca.{name}" for name in (
    "pca", "pca_project", "pca_reconstruct", "principal_angles", "reconstruction_error"))


def _rotation(d: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q


# --- pca_power_iteration --------------------------------------------------------------------------

N_PI, D_PI = 45, 7


def _power_inputs(g: torch.Generator) -> dict:
    """x (45, 7) float64 = mean + U diag(s) V^T exactly; ``directions`` = V^T (for the judge only)."""
    ratios = 0.35 + 0.25 * torch.rand(D_PI - 1, generator=g, dtype=torch.float64)   # in [0.35, 0.6]
    top = 4 + 5 * float(torch.rand((), generator=g, dtype=torch.float64))
    variances = top * torch.cat([torch.ones(1, dtype=torch.float64), ratios.cumprod(0)])
    s = (variances * (N_PI - 1)).sqrt()                                # singular values of x - mean
    centred = torch.randn(N_PI, D_PI, generator=g, dtype=torch.float64)
    u, _ = torch.linalg.qr(centred - centred.mean(0))                  # orthonormal, columns sum to 0
    directions = _rotation(D_PI, g).T                                  # rows: the principal directions
    mean = 4 + 2 * torch.randn(D_PI, generator=g, dtype=torch.float64)
    x = mean + (u * s) @ directions
    k = 2 + int(torch.randint(0, 3, (), generator=g))                  # 2, 3 or 4
    iters = 60 + int(torch.randint(0, 41, (), generator=g))            # 60 .. 100
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"x": x, "k": k, "iters": iters, "seed": seed, "directions": directions}


def _call_power(fn, inputs: dict):
    x, k = inputs["x"], inputs["k"]

    def run(seed: int, iters: int):
        result = fn(x, k, iters, generator=torch.Generator().manual_seed(seed))
        if type(result) is not torch.Tensor:
            raise Failure(f"pca_power_iteration must return a tensor of shape {(k, D_PI)}, "
                          f"got {type(result).__name__}")
        return result

    components = run(inputs["seed"], inputs["iters"])
    # iters = 1: the result still depends on the starting block, so it shows where it came from
    a, b, c = (run(s, 1).detach().reshape(-1) for s in (inputs["seed"], inputs["seed"], inputs["seed"] + 1))
    same = a.shape == b.shape and bool(torch.equal(a, b))
    different = a.shape != c.shape or not bool(torch.equal(a, c))
    return components, torch.tensor([float(same), float(different)], dtype=torch.float64)


def _judge_power(inputs: dict, output) -> None:
    k = inputs["k"]
    components, flags = as_items(output, 2, "pca_power_iteration and its generator probe")
    same, different = (bool(v == 1) for v in as_tensor(flags, (2,), "the generator probe").tolist())
    if not same:
        raise Failure("pca_power_iteration: two calls with equally seeded generators gave different results: "
                      "draw the starting block from `generator` (torch.randn(..., generator=generator))")
    if not different:
        raise Failure("pca_power_iteration: generators with different seeds gave the same result after one "
                      "iteration: the starting block must be random, drawn from `generator`")
    actual = as_tensor(components, (k, D_PI), "pca_power_iteration(x, k, iters, generator) for x of shape "
                                              f"{(N_PI, D_PI)} and k = {k}")
    if not bool(torch.isfinite(actual).all()):
        raise Failure("the components contain NaN or inf: normalize (orthonormalize) the block at every "
                      "iteration, not only at the end")
    gram_error = float((actual @ actual.T - torch.eye(k, dtype=torch.float64)).abs().max())
    if gram_error > 1e-6:
        raise Failure("the rows of the result are not orthonormal (largest entry of components @ components.T "
                      f"- I: {gram_error:.3g}): "
                      "without orthogonalization every vector turns towards the top direction; "
                      "orthogonalize the block at every iteration (QR) or deflate")
    expected = inputs["directions"][:k]
    overlap = (actual @ expected.T).abs()                 # (k, k): |cos| between submitted and true rows
    if bool((overlap.diagonal() < 1 - 1e-6).any()) and bool((overlap.max(1).values > 1 - 1e-6).all()):
        raise Failure("the right directions in the wrong order: the first row must be the direction of "
                      "largest variance, then decreasing")
    signs = torch.sign((actual * expected).sum(1, keepdim=True))
    signs[signs == 0] = 1
    assert_close(actual * signs, expected, "components (compared up to the sign of each row)",
                 rtol=0, atol=1e-6,
                 hint="Centre x first (the mean of these data is far from 0), multiply by the covariance "
                      "at every iteration and orthonormalize the block each time; the data have clear "
                      "gaps between their variances, so the iterations given are plenty.")


# --- zca_whiten -----------------------------------------------------------------------------------

N_W, D_W = 30, 5


def _whiten_inputs(g: torch.Generator) -> dict:
    """x (30, 5) float64: mean far from 0, correlated features with variances between ~0.1 and ~6."""
    scales = 0.3 + 2.2 * torch.rand(D_W, generator=g, dtype=torch.float64)
    z = torch.randn(N_W, D_W, generator=g, dtype=torch.float64) * scales
    mean = 3 + 2 * torch.randn(D_W, generator=g, dtype=torch.float64)
    x = mean + z @ _rotation(D_W, g)
    eps = 0.05 + 0.5 * float(torch.rand((), generator=g, dtype=torch.float64))
    return {"x": x, "eps": eps}


def _call_whiten(fn, inputs: dict):
    """Two calls: eps = 0 (exact whitening) and the drawn eps > 0."""
    return tuple(fn(inputs["x"], eps) for eps in (0.0, inputs["eps"]))


def _judge_whiten(inputs: dict, output) -> None:
    from scipy import linalg

    x = inputs["x"].numpy()
    for eps, item in zip((0.0, inputs["eps"]), as_items(output, 2, "the two calls of zca_whiten")):
        actual = as_tensor(item, (N_W, D_W), f"zca_whiten(x, eps = {eps:g}) for x of shape {(N_W, D_W)}")
        root = linalg.sqrtm(np.cov(x, rowvar=False) + eps * np.eye(D_W)).real   # (C + eps I)^(1/2)
        expected = np.linalg.solve(root, (x - x.mean(0)).T).T                   # symmetric root: x_c root^-1
        assert_close(actual, torch.from_numpy(expected), f"zca_whiten(x, eps = {eps:g})", rtol=1e-6, atol=1e-8,
                     hint="Centre x; the covariance divides by N - 1; eps is added to the covariance (to "
                          "each variance), before any square root; the ZCA matrix is symmetric, so after "
                          "rescaling along the principal axes, rotate back to the original axes.")


CASES = {
    "pca_power_iteration": Case(_power_inputs, _judge_power, REFERENCES, call=_call_power),
    "zca_whiten": Case(_whiten_inputs, _judge_whiten, REFERENCES, call=_call_whiten),
}

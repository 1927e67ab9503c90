"""Hidden tests of exercise 03 (``check("pca.pca", fn)``, ``check("pca.pca_reconstruct", fn)``).

Expected values come from scikit-learn's ``PCA`` (components compared up to sign), computed after
the submitted function has returned. The random data are built so that each classic mistake
changes the answer: variances along the principal directions are clearly distinct (3 : 1.9 : 1.2 :
0.8 : 0.5 : 0.25, so the order is well defined and unsorted eigenvectors show), the mean is far from
0 (forgetting to centre tilts the first component towards it), and the directions are a random
rotation (so the columns of V^T are not its rows).
"""

from __future__ import annotations

import numpy as np
import torch

from . import Case, Failure, as_items, as_tensor, assert_close

# Every reference implementation in course_lib.pca is disabled while a submission runs.
REFERENCES = tuple(f"course_lib.pca.{name}" for name in (
    "pca", "pca_project", "pca_reconstruct", "principal_angles", "reconstruction_error"))

N, D = 40, 6
SCALES = (3.0, 1.9, 1.2, 0.8, 0.5, 0.25)


def _data(g: torch.Generator) -> torch.Tensor:
    """(N, D) float64 rows: mean + N(0, diag(SCALES^2)) rotated by a random orthogonal matrix."""
    rotation, _ = torch.linalg.qr(torch.randn(D, D, generator=g, dtype=torch.float64))
    mean = 4 + 2 * torch.randn(D, generator=g, dtype=torch.float64)
    z = torch.randn(N, D, generator=g, dtype=torch.float64) * torch.tensor(SCALES, dtype=torch.float64)
    return mean + z @ rotation


def _k(g: torch.Generator) -> int:
    return 2 + int(torch.randint(0, 3, (1,), generator=g))  # 2, 3 or 4


# --- pca -----------------------------------------------------------------------------------------

def _pca_inputs(g: torch.Generator) -> dict:
    x = _data(g)
    return {"x": x, "k": _k(g)}


def _tuple_call(name: str, size: int):
    def call(fn, inputs: dict):
        result = fn(**inputs)
        if type(result) is not tuple or len(result) != size:
            raise Failure(f"{name} must return a tuple of {size} tensors")
        return result
    return call


def _judge_pca(inputs: dict, output) -> None:
    from sklearn.decomposition import PCA

    x, k = inputs["x"].numpy(), inputs["k"]
    mean, components, variance = as_items(output, 3, "pca(x, k)")
    mean = as_tensor(mean, (D,), "mean")
    components = as_tensor(components, (k, D), "components")
    variance = as_tensor(variance, (k,), "explained_variance")
    ref = PCA(n_components=k, svd_solver="full").fit(x)
    assert_close(mean, torch.from_numpy(ref.mean_), "mean", rtol=1e-6, atol=1e-8,
                 hint="The mean is the average of the rows of x (one number per column).")
    expected = torch.from_numpy(ref.components_)
    # Components are defined up to sign: flip each submitted row to agree with the reference.
    signs = torch.sign((components * expected).sum(1, keepdim=True))
    signs[signs == 0] = 1
    assert_close(components * signs, expected, "components (compared up to the sign of each row)",
                 rtol=1e-5, atol=1e-6,
                 hint="Centre x before the SVD; the principal directions are the rows of V^T "
                      "(torch.linalg.svd returns V^T), largest singular value first; if you use an "
                      "eigendecomposition, sort it by decreasing eigenvalue.")
    assert_close(variance, torch.from_numpy(ref.explained_variance_), "explained_variance",
                 rtol=1e-5, atol=1e-8,
                 hint="The variance along component j is S_j^2 / (N - 1) for the singular values S "
                      "of the centred data, in decreasing order.")


# --- pca_reconstruct -----------------------------------------------------------------------------

def _reconstruct_inputs(g: torch.Generator) -> dict:
    """Codes z of data x under its own PCA (numpy's SVD); x stays in the inputs for the judge only."""
    x = _data(g)
    k = _k(g)
    mean = x.mean(0)
    _, _, vh = np.linalg.svd((x - mean).numpy(), full_matrices=False)
    components = torch.from_numpy(vh[:k].copy())
    return {"z": (x - mean) @ components.T, "mean": mean, "components": components, "x": x}


def _call_reconstruct(fn, inputs: dict):
    return fn(inputs["z"], inputs["mean"], inputs["components"])


def _judge_reconstruct(inputs: dict, output) -> None:
    from sklearn.decomposition import PCA

    x, k = inputs["x"].numpy(), inputs["components"].shape[0]
    actual = as_tensor(output, (N, D), "pca_reconstruct(z, mean, components)")
    ref = PCA(n_components=k, svd_solver="full").fit(x)
    expected = torch.from_numpy(ref.inverse_transform(ref.transform(x)))
    assert_close(actual, expected, "the reconstruction", rtol=1e-6, atol=1e-8,
                 hint="x_hat = mean + z V_k: a combination of the component rows, shifted back by the mean.")


CASES = {
    "pca": Case(_pca_inputs, _judge_pca, REFERENCES, call=_tuple_call("pca", 3)),
    "pca_reconstruct": Case(_reconstruct_inputs, _judge_reconstruct, REFERENCES, call=_call_reconstruct),
}

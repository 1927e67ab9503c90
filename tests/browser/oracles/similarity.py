"""Oracle of the similarity explorer (lecture 09): InfoNCE and the positives' probabilities of the quick
build's embeddings, by loops over the rows in numpy float64 (never through course_lib.contrastive)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from course_lib.explorers.similarity import quick_embeddings

# Numbers of the lecture's trained model: compared with this oracle on the quick build only.
TRAINED = {"InfoNCE", "p(positive)"}


def oracle(values: dict[str, float]) -> dict[str, float]:
    u, v = (t.numpy() for t in quick_embeddings())
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    t, n = values["T"], len(u)
    s = u @ v.T / t
    # row i: log-probability that u_i picks v_i; column j: that v_j picks u_j
    rows = [s[i, i] - logsumexp(s[i]) for i in range(n)]
    cols = [s[j, j] - logsumexp(s[:, j]) for j in range(n)]
    return {"T": t, "InfoNCE": -(np.mean(rows) + np.mean(cols)) / 2, "log N": math.log(n),
            "p(positive)": float(np.mean(np.exp(rows)))}

"""Hidden tests of exercise 09 (``check("contrastive.multi_positive_nce", fn)``).

``multi_positive_nce(u, v, labels, temperature, symmetric=True)`` is called twice on the same inputs,
once with the default (both directions) and once with ``symmetric=False``; both results are judged
against a brute-force oracle: loops over anchors and candidates in numpy float64 with scipy's
``logsumexp``, computed after the submitted function has returned (never through course_lib).

The inputs make every classic mistake change the answer: embeddings of very different lengths (a
missing normalization shows), a temperature far from 1, labels with repeated classes of different
sizes (so the diagonal alone, a sum over the positives, or positives taken off the diagonal show),
a batch size that differs from the embedding size, and the two directions differ because u and v do.
The inputs must come back unmodified.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import logsumexp

from . import Case, Failure, as_items, as_tensor, assert_close

# course_lib's contrastive losses are switched off while a submission runs.
REFERENCES = tuple(f"course_lib.contrastive.{name}" for name in ("info_nce", "similarity_logits", "simclr_loss"))

N, D = 9, 5


def _inputs(g: torch.Generator) -> dict:
    lengths = torch.exp(2 * torch.rand(N, 1, generator=g, dtype=torch.float64) - 1) * 3   # 1.1 .. 8.2
    u = torch.randn(N, D, generator=g, dtype=torch.float64) * lengths
    v = 0.6 * u / lengths + torch.randn(N, D, generator=g, dtype=torch.float64)
    v = v * torch.exp(2 * torch.rand(N, 1, generator=g, dtype=torch.float64))
    labels = torch.randint(0, 4, (N,), generator=g)
    temperature = float(0.15 + 0.5 * torch.rand((), generator=g, dtype=torch.float64))
    return {"u": u, "v": v, "labels": labels, "temperature": temperature}


def _oracle(u, v, labels, temperature) -> tuple[float, float]:
    """(loss u -> v, loss v -> u), each the mean over anchors of minus the mean log-probability of
    the anchor's positives, by loops."""
    u, v, labels = u.numpy(), v.numpy(), labels.numpy()
    u = u / np.sqrt((u ** 2).sum(1, keepdims=True))
    v = v / np.sqrt((v ** 2).sum(1, keepdims=True))
    n = len(u)

    def one_way(a, b):
        losses = []
        for i in range(n):
            scores = [float(a[i] @ b[j]) / temperature for j in range(n)]
            log_z = logsumexp(scores)
            positives = [j for j in range(n) if labels[j] == labels[i]]
            losses.append(-sum(scores[j] - log_z for j in positives) / len(positives))
        return float(np.mean(losses))

    return one_way(u, v), one_way(v, u)


def _call(fn, inputs: dict):
    u, v, labels, t = inputs["u"], inputs["v"], inputs["labels"], inputs["temperature"]
    both = fn(u, v, labels, t)
    one = fn(u, v, labels, t, symmetric=False)
    return both, one, u, v, labels


def _judge(inputs: dict, output) -> None:
    both, one, u_after, v_after, labels_after = as_items(output, 5, "multi_positive_nce")
    for name, plain in (("u", u_after), ("v", v_after), ("labels", labels_after)):
        original = inputs[name].to(torch.float64)
        assert_close(as_tensor(plain, tuple(original.shape), f"{name} after the call"), original,
                     f"{name} after the call", rtol=0, atol=0,
                     hint="multi_positive_nce must not modify its inputs in place.")
    uv, vu = _oracle(inputs["u"], inputs["v"], inputs["labels"], inputs["temperature"])
    hint = ("Normalize u and v to unit length, divide the similarities by the temperature, average "
            "-log softmax over each anchor's positives (every j with the same label, the diagonal "
            "included), then average over the N anchors.")
    one = as_tensor(one, (), "multi_positive_nce(..., symmetric=False)")
    assert_close(one, torch.tensor(uv, dtype=torch.float64), "multi_positive_nce(..., symmetric=False)",
                 rtol=1e-6, atol=1e-8, hint=hint + " With symmetric=False only the u -> v direction counts.")
    both = as_tensor(both, (), "multi_positive_nce(...) (symmetric=True)")
    if abs(float(both) - uv) < 1e-6 * abs(uv) and abs(uv - vu) > 1e-3:
        raise Failure("multi_positive_nce(..., symmetric=True) returned the u -> v loss alone: "
                      "average it with the v -> u direction (the columns of the similarity matrix).")
    assert_close(both, torch.tensor((uv + vu) / 2, dtype=torch.float64), "multi_positive_nce(...) (symmetric=True)",
                 rtol=1e-6, atol=1e-8, hint=hint + " symmetric=True averages the u -> v and v -> u losses.")


CASES = {
    "multi_positive_nce": Case(_inputs, _judge, REFERENCES, call=_call, trials=4),
}

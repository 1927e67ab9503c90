"""Oracle of the completion explorer (lecture 07): what the two sliders mean for the sampler."""

from __future__ import annotations


def oracle(values: dict[str, float]) -> dict[str, float]:
    """rows given of an 8x8 digit -> 8 * rows pixels given, the other 64 - 8 * rows drawn one network
    pass each; temperature T divides the logits, i.e. multiplies them by 1 / T."""
    given = 8 * round(values["rows"])
    return {"given pixels": float(given), "sampled pixels": float(64 - given),
            "logit scale 1/T": 1.0 / values["T"]}

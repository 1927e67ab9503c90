"""How good is a generative model? Likelihood-based numbers (lecture 07) and sample-based ones
(lecture 08), as pure functions of tensors."""

from __future__ import annotations

import math

import torch

from . import checks

# --- likelihood-based: nats, bits per dimension, perplexity, memorization (lecture 07) ------------

# --- sample-based: Frechet distance and the digits features it uses (lecture 08) -----------------

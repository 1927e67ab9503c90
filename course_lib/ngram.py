"""Character n-gram models: the chain rule with conditionals estimated by counting (lecture 07).

    p(x_1 .. x_T) = prod_t p(x_t | x_{t-n+1} .. x_{t-1})       (an (n-1)-character context)
    p(c | ctx) = (count(ctx c) + alpha) / (count(ctx) + alpha V)   (additive smoothing, V characters)

With alpha = 0 (maximum likelihood) an n-gram never seen in training gets probability 0, so one
unseen n-gram makes the held-out perplexity infinite. The text is English gathered offline, at run
time, from the docstrings of Python's standard library (:func:`stdlib_text`); nothing is downloaded.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
import warnings
from collections import Counter

import torch

from . import checks

ALPHABET = "abcdefghijklmnopqrstuvwxyz .,"   # V = 29 characters; everything else is folded in
START = "^"                                  # pads the first context of a text

# A fixed list, so that the text is the same on every machine with the same Python version.
MODULES = ("abc", "argparse", "base64", "bisect", "calendar", "collections", "contextlib", "copy", "csv",
           "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools", "glob",
           "gzip", "heapq", "hashlib", "inspect", "io", "itertools", "json", "logging", "math", "os",
           "pathlib", "pickle", "pprint", "queue", "random", "re", "shutil", "statistics", "string",
           "subprocess", "tarfile", "tempfile", "textwrap", "threading", "unittest",
           "urllib.parse", "uuid", "warnings", "zipfile")


def clean(text: str) -> str:
    """Lower-case; letters, space, '.' and ',' kept; every other run of characters becomes one space."""
    text = re.sub(r"[^a-z.,]+", " ", text.lower())
    return re.sub(r" +", " ", text).strip()


def stdlib_docstrings(modules: tuple[str, ...] = MODULES) -> list[str]:
    """The cleaned docstrings of ``modules`` and of their public classes, functions and methods, in a
    fixed order (modules as listed, members sorted by name); docstrings under 40 characters dropped."""
    docs: list[str] = []
    with warnings.catch_warnings():          # some members are deprecated aliases: reading them warns
        warnings.simplefilter("ignore")
        for name in modules:
            docs += _module_docstrings(name, docs)
    return docs


def _module_docstrings(name: str, earlier: list[str]) -> list[str]:
    """Docstrings of module ``name``, its public classes and functions and their methods."""
    module = importlib.import_module(name)
    objects = [module]
    for attr in sorted(dir(module)):
        obj = getattr(module, attr, None)
        if attr.startswith("_") or not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        objects.append(obj)
        if inspect.isclass(obj):
            objects += [getattr(obj, m) for m in sorted(vars(obj))
                        if not m.startswith("_") and inspect.isroutine(getattr(obj, m, None))]
    docs: list[str] = []
    for obj in objects:
        doc = clean(inspect.getdoc(obj) or "")
        if len(doc) >= 40 and doc not in docs[-50:] and doc not in earlier[-50:]:
            docs.append(doc)
    return docs


def stdlib_text(test_every: int = 10) -> tuple[str, str]:
    """(train, test) English text: every ``test_every``-th standard-library docstring is held out."""
    docs = stdlib_docstrings()
    test_every = checks.positive_int(test_every, "test_every", minimum=2)
    train = [d for i, d in enumerate(docs) if i % test_every]
    test = [d for i, d in enumerate(docs) if i % test_every == 0]
    return " ".join(train), " ".join(test)


class CharNGram:
    """A character n-gram model with additive smoothing ``alpha`` (0: maximum likelihood)."""

    def __init__(self, n: int, alpha: float = 0.0):
        self.n = checks.positive_int(n, "n")
        self.alpha = checks.number(alpha, "alpha", low=0.0)
        self.grams: Counter = Counter()      # count(ctx c), keyed by the n characters
        self.contexts: Counter = Counter()   # count(ctx) = sum_c count(ctx c), keyed by n-1 characters

    def fit(self, text: str) -> CharNGram:
        """Count every n-gram (context + next character) of ``text`` (cleaned first)."""
        text = START * (self.n - 1) + clean(text)
        self.grams.update(text[t - self.n + 1:t + 1] for t in range(self.n - 1, len(text)))
        self.contexts = Counter()
        for gram, count in self.grams.items():
            self.contexts[gram[:-1]] += count
        return self

    def prob(self, context: str, char: str) -> float:
        """p(char | last n-1 characters of context) = (count + alpha) / (total + alpha V); 0/0 -> 0."""
        ctx = context[len(context) - self.n + 1:] if self.n > 1 else ""
        total = self.contexts.get(ctx, 0)
        if total + self.alpha == 0:
            return 0.0
        return (self.grams.get(ctx + char, 0) + self.alpha) / (total + self.alpha * len(ALPHABET))

    def nll(self, text: str) -> tuple[float, int]:
        """(-log p(text) in nats, number of characters scored); inf when some n-gram has p = 0."""
        text = START * (self.n - 1) + clean(text)
        total = 0.0
        for t in range(self.n - 1, len(text)):
            p = self.prob(text[t - self.n + 1:t], text[t])
            if p == 0.0:
                return math.inf, len(text) - self.n + 1
            total -= math.log(p)
        return total, len(text) - self.n + 1

    def sample(self, length: int, generator: torch.Generator | None = None, prompt: str = "") -> str:
        """``length`` characters drawn one at a time from p(c | previous n-1 characters), after
        ``prompt``, or, without one, after a context drawn from the training text's contexts."""
        length = checks.positive_int(length, "length")
        checks.generator(generator)
        text = START * (self.n - 1) + clean(prompt)
        if not prompt and self.n > 1:
            keys = [k for k in self.contexts if START not in k]
            weights = torch.tensor([float(self.contexts[k]) for k in keys], dtype=torch.float64)
            text = keys[int(torch.multinomial(weights, 1, generator=generator))]
        for _ in range(length):
            p = torch.tensor([self.prob(text, c) for c in ALPHABET], dtype=torch.float64)
            if float(p.sum()) == 0.0:                  # a context never seen: fall back to uniform
                p = torch.ones(len(ALPHABET), dtype=torch.float64)
            text += ALPHABET[int(torch.multinomial(p, 1, generator=generator))]
        return text.lstrip(START)

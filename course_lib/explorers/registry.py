"""Every explorer of the course, listed once.

The browser tests (``tests/browser``), the widget benchmark (``benchmarks/widget_bench.py``) and the
page of all explorers (``lectures/explorers.ipynb``) read this list; ``tests/browser/test_registry.py``
fails when an explorer class has no entry, an entry has no oracle (``tests/browser/oracles/<name>.py``)
or an entry's lecture does not show it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str           # short id: "divergence"
    lecture: str        # the lecture that shows it, relative to the repository root
    factory: str        # "module:function" that builds it exactly as the lecture does
    quick: str = ""     # "module:function" building the same explorer fast (untrained), if the
                        # factory trains a model; tests and the benchmark use it

    def build(self, quick: bool = True):
        """An instance (the quick one where there is one and ``quick`` is true)."""
        target = self.quick if (quick and self.quick) else self.factory
        module, function = target.split(":")
        return getattr(importlib.import_module(module), function)()


REGISTRY: list[Entry] = [
    # one line per explorer, in lecture order
    Entry("divergence", "lectures/01_divergences.ipynb", "course_lib.explorers.divergence:divergence_explorer"),
    Entry("pareto", "lectures/02_pareto.ipynb", "course_lib.explorers.pareto:pareto_explorer"),
    Entry("latent", "lectures/04_elbo_vae.ipynb", "course_lib.explorers.latent:latent_explorer",
          quick="course_lib.explorers.latent:untrained_latent_explorer"),
    Entry("flow", "lectures/06_flows.ipynb", "course_lib.explorers.flow:flow_explorer",
          quick="course_lib.explorers.flow:quick_flow_explorer"),
    Entry("completion", "lectures/07_autoregressive.ipynb", "course_lib.explorers.completion:completion_explorer",
          quick="course_lib.explorers.completion:untrained_completion_explorer"),
    Entry("gan_training", "lectures/08_gans.ipynb", "course_lib.explorers.gan_training:gan_training_explorer",
          quick="course_lib.explorers.gan_training:quick_gan_training_explorer"),
    Entry("similarity", "lectures/09_contrastive.ipynb", "course_lib.explorers.similarity:similarity_explorer",
          quick="course_lib.explorers.similarity:quick_similarity_explorer"),
]


def entry(name: str) -> Entry:
    """The registry entry called ``name``."""
    for e in REGISTRY:
        if e.name == name:
            return e
    raise KeyError(f"no explorer named {name!r}; known: {[e.name for e in REGISTRY]}")

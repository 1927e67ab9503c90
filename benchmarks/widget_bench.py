"""How responsive is each explorer?  Median seconds of one update (numbers + picture) per slider change.

    .venv/bin/python -m benchmarks.widget_bench

One update is what a learner waits for after letting go of a slider (``continuous_update=False``:
one update per drag end or arrow key): the explorer's own ``redraw_seconds``, measured in this
process without a browser.  Target: <= 0.1 s on 2 CPU cores.
"""

from __future__ import annotations

import importlib
import statistics

TARGET_S = 0.1
CHANGES = 20

# Every explorer of the course: (name, module, factory).  A missing module (not written yet) is skipped.
EXPLORERS = [
    ("divergence (lecture 01)", "course_lib.widgets", "divergence_explorer"),
    ("pareto (lecture 02)", "course_lib.widgets_pareto", "pareto_explorer"),
    ("latent (lecture 04)", "course_lib.widgets_vae", "latent_explorer"),
]


def _untrained_latent_explorer():
    # latent_explorer() first trains its VAE (seconds to a minute); an update costs the same untrained
    from course_lib.vae import VAE, VAEConfig
    from course_lib.widgets_vae import LatentExplorer

    return LatentExplorer(VAE(VAEConfig(latent_dim=2, hidden=128, level_rank=2)))


BUILDERS = {"latent_explorer": _untrained_latent_explorer}  # factories too slow to call here


def _moves(explorer, changes: int):
    """``changes`` slider moves cycling over the sliders: one step up, then one step back down."""
    sliders = list(explorer.sliders.values())
    for i in range(changes):
        slider = sliders[i % len(sliders)]
        up = (i // len(sliders)) % 2 == 0
        target = slider.value + (slider.step if up else -slider.step)
        if not slider.min <= target <= slider.max:
            target = slider.value - (slider.step if up else -slider.step)
        yield slider, target


def time_updates(explorer, changes: int = CHANGES) -> list[float]:
    """``redraw_seconds`` after each of ``changes`` slider moves (each move triggers one update),
    after one unmeasured move per slider (first draws fill matplotlib's font and text caches)."""
    for slider, target in _moves(explorer, len(explorer.sliders)):
        slider.value = target
    seconds = []
    for slider, target in _moves(explorer, changes):
        slider.value = target
        seconds.append(explorer.redraw_seconds)
    return seconds


def run(full: bool = False) -> list[dict]:
    rows = []
    for name, module, factory in EXPLORERS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            continue
        explorer = BUILDERS.get(factory, getattr(mod, factory))()
        seconds = time_updates(explorer, CHANGES * (5 if full else 1))
        rows.append({
            "metric": f"one {name} explorer update",
            "value": f"{statistics.median(seconds):.3f} s",
            "target": f"<= {TARGET_S} s",
            "config": f"median of {len(seconds)} slider changes ({', '.join(explorer.sliders)}), "
                      f"max {max(seconds):.3f} s; numbers + PNG, no browser"
                      + ("; untrained VAE" if factory in BUILDERS else ""),
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

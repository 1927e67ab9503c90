"""How responsive is each explorer?  Median seconds of one update (numbers + picture) per slider change.

    .venv/bin/python -m benchmarks.widget_bench

One update is what a learner waits for after letting go of a slider (``continuous_update=False``:
one update per drag end or arrow key): the explorer's own ``redraw_seconds``, measured in this
process without a browser.  Target: <= 0.1 s on 2 CPU cores.  Every explorer of
``course_lib.explorers.registry.REGISTRY`` is timed.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from course_grading.threads import one_thread
from course_lib.explorers.registry import REGISTRY

TARGET_S = 0.1
CHANGES = 20


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


def time_updates(explorer, changes: int = CHANGES) -> tuple[list[float], list[float]]:
    """``redraw_seconds`` (wall clock) and the CPU seconds of this process after each of ``changes``
    slider moves (each move triggers one update), after one unmeasured move per slider (first draws
    fill matplotlib's font and text caches). CPU time is what a busy shared machine does not inflate."""
    for slider, target in _moves(explorer, len(explorer.sliders)):
        slider.value = target
    seconds, cpu = [], []
    for slider, target in _moves(explorer, changes):
        start = time.process_time()
        slider.value = target
        cpu.append(time.process_time() - start)
        seconds.append(explorer.redraw_seconds)
    return seconds, cpu


@one_thread  # as in a Voila kernel (one torch thread each), and CPU time then counts one core
def run(full: bool = False) -> list[dict]:
    """One row per explorer of the registry, built quickly (a model the lecture trains stays untrained:
    an update costs the same)."""
    rows = []
    for entry in REGISTRY:
        explorer = entry.build(quick=True)
        seconds, cpu = time_updates(explorer, CHANGES * (5 if full else 1))
        rows.append({
            "metric": f"one {entry.name} (lecture {Path(entry.lecture).name[:2]}) explorer update",
            "value": f"{statistics.median(seconds):.3f} s",
            "target": f"<= {TARGET_S} s",
            "config": f"median of {len(seconds)} slider changes ({', '.join(explorer.sliders)}), "
                      f"max {max(seconds):.3f} s, median CPU {statistics.median(cpu):.3f} s; numbers + PNG, no browser"
                      + ("; untrained (the registry's quick build)" if entry.quick else ""),
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

"""Measure the course on this machine and write benchmarks/RESULTS.md.

    .venv/bin/python -m benchmarks.run                 # notebooks, autograding, widgets, quality
    .venv/bin/python -m benchmarks.run --only notebooks,grading
    .venv/bin/python -m benchmarks.run --full          # model-quality rows with the full configs
    .venv/bin/python -m benchmarks.run --only quality --modules flows --full   # one module; other rows kept

Rows come from: every notebook's execution time (lectures budget 60 s on 2 CPU cores), the
autograding time of one submission per exercise (plain nbgrader, and sandboxed / parallel from
``benchmarks/grading_bench.py`` when present), the widget redraw times (``benchmarks/widget_bench.py``)
and the model-quality modules ``benchmarks/quality_*.py`` (``run(full) -> rows``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from coursetools.layout import REPO, Course, chdir, make_scratch_course
from coursetools.nbapi import api

RESULTS = REPO / "benchmarks" / "RESULTS.md"
LECTURE_BUDGET_S = 60.0
AUTOGRADE_BUDGET_S = 5.0


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPU cores, GPU: {gpu}, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def time_notebook(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def notebook_rows() -> list[dict]:
    rows = []
    for path in sorted((REPO / "lectures").glob("*.ipynb")) + sorted(Course().source().glob("*/*.ipynb")):
        seconds = time_notebook(path)
        is_lecture = path.parent.name == "lectures"
        rows.append({"metric": f"execute {path.relative_to(REPO)}", "value": f"{seconds:.1f} s",
                     "target": f"<= {LECTURE_BUDGET_S:.0f} s" if is_lecture else "", "config": "top to bottom, CPU"})
        print(rows[-1], flush=True)
    return rows


def autograde_rows(repeats: int = 3) -> list[dict]:
    """Plain (unsandboxed) nbgrader autograde of the solution, median of ``repeats`` submissions."""
    rows = []
    for assignment in Course().assignments():
        with tempfile.TemporaryDirectory() as tmp:
            course = make_scratch_course(Path(tmp), [assignment], generate=True)
            nb_path = course.notebook(assignment)
            times = []
            with chdir(course.root):
                nb_api = api(course.root)
                for i in range(repeats):
                    folder = course.submitted(f"s{i}", assignment)
                    folder.mkdir(parents=True)
                    folder.joinpath(nb_path.name).write_bytes(nb_path.read_bytes())
                    start = time.perf_counter()
                    result = nb_api.autograde(assignment, f"s{i}", force=True, create=True)
                    times.append(time.perf_counter() - start)
                    assert result["success"], result["log"]
        times.sort()
        rows.append({"metric": f"autograde one {assignment} submission (nbgrader, no sandbox)",
                     "value": f"{times[len(times) // 2]:.1f} s", "target": f"<= {AUTOGRADE_BUDGET_S:.0f} s",
                     "config": f"median of {repeats}, sequential"})
        print(rows[-1], flush=True)
    return rows


def module_rows(name: str, **kwargs) -> list[dict]:
    path = REPO / "benchmarks" / f"{name}.py"
    if not path.exists():
        return []
    rows = importlib.import_module(f"benchmarks.{name}").run(**kwargs)
    for row in rows:
        print(row, flush=True)
    return rows


def _sections(text: str) -> dict[str, str]:
    """The ``## title`` blocks of a RESULTS.md text: title -> the block (title line included)."""
    return {block.splitlines()[0]: block for block in text.split("\n## ")[1:]}


def section_rows(text: str, title: str) -> list[dict]:
    """The rows of the table under ``## title`` in a RESULTS.md text ([] when there is none)."""
    rows = []
    for line in _sections(text).get(title, "").splitlines()[1:]:
        if not line.startswith("| ") or line.startswith(("| metric |", "|---")):
            continue
        cells = [c.strip().replace("\\|", "|") for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 4:
            rows.append(dict(zip(("metric", "value", "target", "config"), cells)))
    return rows


def _key(row: dict) -> tuple[str, str]:
    """A row's identity: its metric and the configuration it names first ("notebook", "full")."""
    return row["metric"], str(row.get("config", "")).partition(":")[0]


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` with each row that ``new`` measures again replaced in place; new rows at the end."""
    fresh = {_key(r): r for r in new}
    merged = [fresh.pop(_key(r), r) for r in old]
    return merged + [r for r in new if _key(r) in fresh]


def _cell(text) -> str:
    """A table cell: a literal ``|`` (e.g. in ``|rank correlation|``) escaped so that it does not end the cell."""
    return str(text).replace("|", "\\|")


def write(sections: dict[str, list[dict]]) -> None:
    old = RESULTS.read_text() if RESULTS.exists() else ""
    lines = ["# Benchmark results", "",
             f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by `python -m benchmarks.run` on: {machine()}.", "",
             "Budgets are for 2 CPU cores. Re-run after changing anything measured here.", ""]
    for title, rows in sections.items():
        lines += [f"## {title}", "", "| metric | value | target | configuration |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(r.get(k, "")) for k in ("metric", "value", "target", "config")) + " |"
                  for r in rows]
        lines.append("")
    # Keep sections of the previous file that this run did not measure.
    kept = []
    for title, block in _sections(old).items():
        if title not in sections:
            kept += [f"## {block.rstrip()}", ""]
    RESULTS.write_text("\n".join(lines + kept).rstrip() + "\n")
    print(f"wrote {RESULTS}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="notebooks,grading,widgets,quality")
    parser.add_argument("--full", action="store_true", help="also the model-quality rows of the full configurations")
    parser.add_argument("--modules", default="",
                        help="quality modules to measure, e.g. flows,vae (quality_flows.py, ...); the other rows "
                             "of the section are kept as they are (so is a row whose metric a module renamed or "
                             "dropped: a run without --modules rewrites the section from scratch)")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    sections: dict[str, list[dict]] = {}
    if "notebooks" in parts:
        sections["Notebook execution"] = notebook_rows()
    if "grading" in parts:
        sections["Autograding"] = autograde_rows() + module_rows("grading_bench")
    if "widgets" in parts:
        sections["Widgets"] = module_rows("widget_bench")
    if "quality" in parts:
        chosen = {f"quality_{m}" for m in args.modules.split(",") if m}
        rows = []
        for path in sorted((REPO / "benchmarks").glob("quality_*.py")):
            if chosen and path.stem not in chosen:
                continue
            rows += module_rows(path.stem, full=False)
            if args.full:  # the full configurations come beside the notebook ones
                rows += module_rows(path.stem, full=True)
        if chosen:
            old = RESULTS.read_text() if RESULTS.exists() else ""
            rows = merge_rows(section_rows(old, "Model quality"), rows)
        sections["Model quality"] = rows
    write(sections)


if __name__ == "__main__":
    main()

"""What ``collect`` did with each file of an export: one :class:`Row` per file, the whole :class:`Report`
(printed as a summary, written as ``collected/report.csv``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    source: str                 # path relative to the export folder
    status: str                 # placed | updated | unchanged | superseded | unplaced | refused | ignored
    student: str = ""
    assignment: str = ""
    notebook: str = ""
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    lms: str = ""               # the export's format (moodle | canvas | generic), chosen once

    def of(self, *statuses: str) -> list[Row]:
        return [r for r in self.rows if r.status in statuses]

    def summary(self) -> str:
        counts = {}
        for r in self.rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing found"

    def write_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["source", "status", "student", "assignment", "notebook", "note"])
            for r in self.rows:
                w.writerow([r.source, r.status, r.student, r.assignment, r.notebook, r.note])

"""Build the student versions (``exercises/``) from the nbgrader sources (``solutions/``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .nbapi import REPO, api, assignments, chdir


def generate(names: list[str] | None = None, course_root: Path = REPO, out_dir: Path | None = None) -> list[Path]:
    """Run ``nbgrader generate_assignment`` for ``names`` (default: all) and return the written folders.

    Generation happens in a scratch copy (so the course's own gradebook is not touched) and the
    result replaces ``out_dir / name`` (default ``course_root / "exercises"``).
    """
    course_root = Path(course_root).resolve()
    out_dir = Path(out_dir) if out_dir is not None else course_root / "exercises"
    names = names or assignments(course_root)
    unknown = sorted(set(names) - set(assignments(course_root)))
    if unknown:
        raise ValueError(f"no such assignment in {course_root / 'solutions'}: {', '.join(unknown)}")
    written = []
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        scratch = Path(tmp)
        shutil.copy(course_root / "nbgrader_config.py", scratch / "nbgrader_config.py")
        for name in names:
            shutil.copytree(course_root / "solutions" / name, scratch / "solutions" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        with chdir(scratch):
            nb_api = api(scratch)
            for name in names:
                result = nb_api.generate_assignment(name, force=True, create=True)
                if not result["success"]:
                    raise RuntimeError(f"nbgrader could not generate {name}:\n{result['error']}\n{result['log']}")
        for name in names:
            target = out_dir / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(scratch / "exercises" / name, target)
            written.append(target)
    return written


if __name__ == "__main__":  # python -m coursetools.release [names...]
    import sys

    for path in generate(sys.argv[1:] or None):
        print(f"wrote {path}")

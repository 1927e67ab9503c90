"""Instructor tools: release, collect, sandboxed autograding, feedback and export (``./course ...``)."""

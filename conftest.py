"""Shared pytest set-up for tests/, lectures/ and solutions/ (notebooks run by nbval)."""

import os

# Kernels started by nbval / nbgrader inherit this; device-parametrized tests still cover every device.
os.environ.setdefault("COURSE_DEVICE", "cpu")
# Keep progress bars and warnings of executed notebooks quiet and deterministic.
os.environ.setdefault("PYTHONHASHSEED", "0")

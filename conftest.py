"""Shared pytest set-up for tests/, lectures/ and solutions/ (notebooks run by nbval)."""

import os

# Kernels started by nbval / nbgrader inherit this; device-parametrized tests still cover every device.
os.environ.setdefault("COURSE_DEVICE", "cpu")
# Keep progress bars and warnings of executed notebooks quiet and deterministic.
os.environ.setdefault("PYTHONHASHSEED", "0")
# One BLAS/OpenMP thread per process: tests and notebook kernels run side by side on 2 cores,
# and the course's small models train faster without thread oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

"""course_lib: the shared library of the course on unsupervised learning and generative models.

One module per lecture topic (``divergences``, ``pareto``, ``pca``, ``vae``, ``estimators``, ...)
plus small shared parts (``data``, ``train``, ``plot``, ``device``, ``checks``, ``nets``,
``metrics`` and the ``explorers`` package). Import the module you need:
``from course_lib.divergences import kl_normal``.

Conventions every module follows:
- **Randomness** only through an optional ``generator: torch.Generator | None`` argument (``None``:
  torch's global generator); library functions never seed anything. Data generators and training
  configurations (``FitConfig.seed``) take an ``int`` ``seed`` and turn it into a generator once, at
  the top. Noise is drawn with ``checks.randn`` / ``checks.rand`` on the device and dtype of the
  input. Only a notebook's first cell seeds the global generators (``device.seed_everything``), so
  that its models start from the same weights on every run.
- **Device and dtype** follow the inputs (``x.new_zeros``, ``torch.randn_like``); nothing hard-codes
  ``cpu`` or ``cuda``. ``device.default_device()`` picks cuda, then mps, then cpu
  (``COURSE_DEVICE`` overrides) for notebooks and training.
- **Validation** at the boundary, once, through ``course_lib.checks``: a wrong type raises
  ``TypeError``, a wrong value ``ValueError``, both naming the argument and the value.
- **One MLP builder**, ``nets.mlp(sizes, activation=nn.ReLU)``: every model's fully connected
  networks come from it, so the layers (and hence seeded weights) are built in one order everywhere.
- **Formula first.** A reader meets the formula before any check: the docstring states it with the
  shapes, the guards follow as one line each (mostly a ``checks`` call), and the lines that compute
  the formula come straight after them. Results are per example (the caller reduces).
"""

__version__ = "0.1.0"

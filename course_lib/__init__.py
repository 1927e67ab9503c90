"""course_lib: the shared library of the course on unsupervised learning and generative models.

One module per lecture topic (``divergences``, ``pareto``, ``pca``, ``vae``, ``estimators``, ...)
plus small shared parts (``data``, ``train``, ``plot``, ``widgets``, ``device``).
Import the module you need: ``from course_lib.divergences import kl_normal``.
"""

__version__ = "0.1.0"

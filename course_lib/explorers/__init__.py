"""The course's explorers: sliders that move a picture and a few numbers, one module per explorer.

``base`` holds the :class:`~course_lib.explorers.base.Explorer` class every explorer extends
(``compute`` the numbers, ``build`` the figure once, ``draw`` the current state on it) and the
``slider`` helper; ``registry`` lists every explorer once, and the browser tests, the widget benchmark
and ``lectures/explorers.ipynb`` all read it. Adding an explorer: write
``course_lib/explorers/<name>.py``, add one line to ``registry.REGISTRY``, and give the browser tests
its oracle in ``tests/browser/oracles/<name>.py``.
"""

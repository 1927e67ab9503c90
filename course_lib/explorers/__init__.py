"""The course's explorers: sliders that move a picture and a few numbers, one module per explorer.

``base`` holds the :class:`~course_lib.explorers.base.Explorer` class every explorer extends (build
the figure once in ``draw``, recompute the numbers in ``compute``); ``registry`` lists every explorer
once, and the browser tests, the widget benchmark and ``lectures/explorers.ipynb`` all read it.
Adding an explorer: write ``course_lib/explorers/<name>.py``, add one line to ``registry.REGISTRY``.
"""

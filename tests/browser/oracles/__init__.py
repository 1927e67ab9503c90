"""One oracle per explorer of the registry: ``<name>.py`` for ``Entry(name, ...)``.

Each module defines ``oracle(values: dict[str, float]) -> dict[str, float]``: from the slider values
(keyed by slider description) to the numbers the page must show, computed independently of the
explorer (torch.distributions, scipy, a fresh run of the library function the explorer looks up).
Optional: ``CALL``, the regex that the last line of the lecture cell displaying the explorer must
match (default: the factory's name called with any arguments, e.g. ``divergence_explorer\\(.*\\)``).
Slider steps and the decimals of the numbers are read from the widget itself.

The oracle sees the slider values only. On a page the explorer is the lecture's (its model trained),
while ``test_registry.py`` compares the oracle with the registry's quick build (untrained): a number
that depends on a trained model's weights cannot be checked this way. Compute it in the oracle from
the same deterministic model (seeded training, cached), show only numbers that follow from the
sliders, or list it in the module's ``TRAINED`` (a set of number names): ``test_registry.py`` still
compares it with the oracle on the quick build, and on a page it must be a well-formed number that
the browser test reads, but its value there is the trained model's and is not compared.
"""

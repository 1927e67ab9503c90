"""WarningsToStdout: warning-only stderr streams become stdout; anything else on stderr stays."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_notebook, new_output

from coursetools.preprocessors import WarningsToStdout
from coursetools.preprocessors.warnings_to_stdout import only_warnings

WARNING = ("/tmp/ipykernel_42/3141.py:3: UserWarning: To copy construct from a tensor, it is recommended "
           "to use sourceTensor.detach().clone()\n  r = torch.tensor(log_p(x) - log_q(x))\n")


def streams(text, name="stderr"):
    nb = new_notebook(cells=[new_code_cell("x", outputs=[new_output("stream", name=name, text=text)])])
    nb, _ = WarningsToStdout().preprocess(nb, {})
    return [(o.name, o.text) for o in nb.cells[0].outputs]


def test_python_warnings_become_stdout():
    two = WARNING + "/x/y.py:12: torch.jit.TracerWarning: odd\n  y = f(x)\n/x/z.py:1: DeprecationWarning: old\n"
    assert streams(WARNING) == [("stdout", WARNING)]
    assert streams(two) == [("stdout", two)]


def test_other_stderr_stays_stderr():
    for text in ["oops\n", WARNING + "and a line of my own\n", "Traceback (most recent call last):\n  File x\n",
                 "/x/y.py:3: UserError: not a warning\n"]:
        assert not only_warnings(text)
        assert streams(text) == [("stderr", text)]


def test_the_course_config_uses_it_for_autograde():
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    from coursetools.layout import REPO

    config = Config()
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(REPO))
    config.merge(loader.load_config())
    assert WarningsToStdout in config.Autograde.autograde_preprocessors

"""Are the course's figures drawn at 100 dpi, and image grids of 8x8 digits large enough to read?"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.plot import INCHES_PER_IMAGE, grid_size, image_grid, style  # noqa: E402


def test_style_sets_100_dpi_and_legible_fonts():
    with plt.rc_context():
        style()
        assert plt.rcParams["figure.dpi"] >= 100 and plt.rcParams["savefig.dpi"] >= 100
        assert plt.rcParams["font.size"] >= 10 and plt.rcParams["legend.fontsize"] >= 9


def test_an_image_grid_gives_every_digit_at_least_half_an_inch():
    width, height = grid_size(30, 10)
    assert width >= 10 * 0.5 and height >= 3 * 0.5
    ax = image_grid(torch.rand(30, 64), nrow=10)
    fig_w, fig_h = ax.figure.get_size_inches()
    assert (fig_w, fig_h) == pytest.approx((width, height))
    assert INCHES_PER_IMAGE * ax.figure.dpi >= 8 * 5  # each of the 8 pixels of a row at least 5 screen pixels
    plt.close(ax.figure)


def test_grid_size_rejects_a_non_positive_count():
    with pytest.raises(ValueError):
        grid_size(0, 10)

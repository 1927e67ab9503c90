"""The completion explorer of lecture 07: a PixelCNN finishes a test digit from its top rows.

:class:`CompletionExplorer` has the sliders "rows" (how many of the 8 rows are given) and "T" (the
sampling temperature: each conditional becomes softmax(logits / T)). The picture shows the digit
with the given rows and four completions drawn with a fixed seed, so a slider position always gives
the same picture. The numbers are what the sliders mean for the sampler: pixels given, pixels drawn
(one network pass each, in raster order) and the factor 1/T that multiplies the logits.

Drawing 64 pixels one network pass at a time takes longer than an update may (0.1 s), so every slider
position is drawn once, when the explorer is built: all 9 x 8 positions x 4 completions in one batch
of sequential passes (about a second); moving a slider only looks the picture up.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from ..pixelcnn import SIDE, PixelCNN, PixelCNNConfig
from .base import Explorer, slider

EXPLORER_CONFIG = PixelCNNConfig(channels=32, layers=4)   # the lecture's notebook configuration
N_COMPLETIONS = 4
TEMPERATURES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


def completion_values(rows: float, temperature: float) -> dict[str, float]:
    """The explorer's numbers for ``rows`` given rows at temperature ``temperature``."""
    given = int(round(rows)) * SIDE
    return {"given pixels": float(given), "sampled pixels": float(SIDE * SIDE - given),
            "logit scale 1/T": 1.0 / float(temperature)}


def train_completion_model(epochs: int = 8, seed: int = 0, progress: bool = False) -> PixelCNN:
    """A small PixelCNN on the digits' training split, seeded (seconds on a CPU)."""
    from ..data import digits
    from ..pixelcnn import pixelcnn_loss
    from ..train import FitConfig, fit

    torch.manual_seed(seed)
    model = PixelCNN(EXPLORER_CONFIG)
    fit(model, pixelcnn_loss, digits("train")[0], None,
        FitConfig(epochs=epochs, batch_size=64, lr=3e-3, seed=seed, progress=progress, description="PixelCNN"))
    return model.eval()


class CompletionExplorer(Explorer):
    """Give the model the top ``rows`` rows of a digit and let it draw the rest at temperature ``T``.

    ``model``: a trained :class:`course_lib.pixelcnn.PixelCNN`; ``digit``: (64,) grey levels 0..16
    (default: the first test digit); ``seed``: the generator seed of the drawings.
    """

    digits = 4

    def __init__(self, model: PixelCNN, digit: torch.Tensor | None = None, rows: float = 4.0,
                 temperature: float = 1.0, seed: int = 0):
        if not isinstance(model, PixelCNN):
            raise TypeError(f"model must be a course_lib.pixelcnn.PixelCNN, got {type(model).__name__}")
        if digit is None:
            from ..data import digits
            digit = digits("test")[0][0]
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.digit = digit.reshape(SIDE * SIDE).long().to(self.device)
        self.seed = seed
        self.table = self.draw_all()
        sliders = {"rows": slider("rows", rows, 0, SIDE, 1, readout_format=".0f"),
                   "T": slider("T", temperature, TEMPERATURES[0], TEMPERATURES[-1],
                               TEMPERATURES[1] - TEMPERATURES[0], readout_format=".2f")}
        super().__init__(sliders, figsize=(6.4, 2.2), title="Completing a digit from its top rows")

    def compute(self) -> dict[str, float]:
        p = self.params()
        return completion_values(p["rows"], p["T"])

    @torch.no_grad()
    def draw_all(self) -> np.ndarray:
        """(9 rows, len(TEMPERATURES), N_COMPLETIONS, 8, 8) completions for every slider position,
        drawn in one batch: image (r, t, k) knows the top r rows and samples at TEMPERATURES[t]."""
        n_t, n_rows = len(TEMPERATURES), SIDE + 1
        rows = torch.arange(n_rows, device=self.device).repeat_interleave(n_t * N_COMPLETIONS)      # (B,)
        known = torch.arange(SIDE * SIDE, device=self.device)[None, :] < SIDE * rows[:, None]       # (B, 64)
        temps = torch.tensor(TEMPERATURES, device=self.device).repeat_interleave(N_COMPLETIONS).repeat(n_rows)
        x = self.digit.expand(len(rows), -1)
        g = torch.Generator(self.device).manual_seed(self.seed)
        out = self.model.complete(x, known, generator=g, temperature=temps)
        return out.reshape(n_rows, n_t, N_COMPLETIONS, SIDE, SIDE).cpu().numpy()

    def completions(self) -> np.ndarray:
        """(N_COMPLETIONS, 8, 8) levels drawn for the current slider position (from the table)."""
        p = self.params()
        t = int(np.argmin([abs(p["T"] - v) for v in TEMPERATURES]))
        return self.table[int(round(p["rows"])), t]

    def build(self, fig: Figure) -> None:
        axes = fig.subplots(1, N_COMPLETIONS + 1)
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.05, top=0.78, wspace=0.1)
        self._images = []
        for i, ax in enumerate(axes):
            self._images.append(ax.imshow(np.zeros((SIDE, SIDE)), cmap="gray_r", vmin=0, vmax=16,
                                          interpolation="nearest"))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title("the digit" if i == 0 else f"completion {i}", fontsize=9)
        self._lines = [ax.axhline(-0.5, color="C3", lw=2) for ax in axes]

    def draw(self, fig: Figure) -> None:
        rows = int(round(self.params()["rows"]))
        self._images[0].set_data(self.digit.reshape(SIDE, SIDE).cpu().numpy())
        for image, drawn in zip(self._images[1:], self.completions()):
            image.set_data(drawn)
        for line in self._lines:
            line.set_ydata([rows - 0.5, rows - 0.5])   # red line: below it, the model draws
        fig.suptitle(f"{rows} rows given (above the red line), T = {self.params()['T']:.1f}", fontsize=9)


def completion_explorer(model: PixelCNN | None = None, **initial) -> CompletionExplorer:
    """Build the lecture-07 explorer (see :class:`CompletionExplorer`); display it as a cell's last line.

    Without a model it trains the small PixelCNN of :func:`train_completion_model` first (seconds).
    """
    return CompletionExplorer(model if model is not None else train_completion_model(), **initial)


def untrained_completion_explorer() -> CompletionExplorer:
    """The explorer around an untrained PixelCNN of the same size: the same sliders, numbers and
    update cost as :func:`completion_explorer` without its training (the registry's quick build)."""
    torch.manual_seed(0)
    return CompletionExplorer(PixelCNN(EXPLORER_CONFIG))

"""The three figure shapes of the analysis report, drawn with matplotlib (Agg: no display needed).

Heatmaps (language x language matrices), panels of curves (a statistic against the top-k
fraction, with its chance level), and horizontal grouped bars (one group per parameter tensor).
Every function writes one PNG and closes its figure.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

from etils import epath
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

DPI = 150


@dataclasses.dataclass(frozen=True)
class Series:
  """One line of a panel: y against x, drawn with matplotlib `style` keywords."""

  label: str
  x: Sequence[float]
  y: Sequence[float]
  style: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Panel:
  """One axes of a figure of curves."""

  title: str
  xlabel: str
  ylabel: str
  series: Sequence[Series]
  log_x: bool = False  # a log x axis ticked at the series' x values as percentages


def _save(figure: plt.Figure, path: str | os.PathLike) -> None:
  """Writes the figure as a PNG through `etils.epath` (local or gs:// paths) and closes it.

  `bbox_inches="tight"` fits long tick labels (tensor paths) at half the cost of `tight_layout`.
  """
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
  plt.close(figure)
  epath.Path(path).write_bytes(buffer.getvalue())


def heatmap(path: str | os.PathLike, matrix: np.ndarray, rows: Sequence[str],
            columns: Sequence[str], *, title: str, label: str, cmap: str = "viridis",
            center: bool = False) -> None:
  """A matrix with its values written in the cells; `center` makes the colours symmetric at 0."""
  matrix = np.asarray(matrix, float)
  figure, axes = plt.subplots(figsize=(1.2 + 0.9 * len(columns), 1.0 + 0.6 * len(rows)))
  limits = {}
  if center:
    bound = float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 1.0
    limits = {"vmin": -bound, "vmax": bound}
  image = axes.imshow(matrix, cmap=cmap, aspect="auto", **limits)
  figure.colorbar(image, ax=axes, label=label)
  axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
  axes.set_yticks(range(len(rows)), rows)
  for (i, j), value in np.ndenumerate(matrix):
    axes.text(j, i, "–" if np.isnan(value) else f"{value:.3g}", ha="center", va="center",
              color="white" if np.isfinite(value) and image.norm(value) < 0.5 else "black",
              fontsize=8)
  axes.set_title(title, fontsize=10)
  _save(figure, path)


def curves(path: str | os.PathLike, panels: Sequence[Panel], *, columns: int = 2) -> None:
  """Panels of curves side by side (wrapping after `columns`)."""
  columns = min(columns, len(panels))
  rows = -(-len(panels) // columns)
  figure, grid = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
  for axes, panel in zip(grid.flat, panels):
    for series in panel.series:
      axes.plot(series.x, series.y, label=series.label, **{"marker": "o", **series.style})
    if panel.log_x:  # top-k fractions: ticks at the values, labelled as percentages
      axes.set_xscale("log")
      ticks = sorted({float(x) for series in panel.series for x in series.x})
      axes.set_xticks(ticks, [f"{100 * x:.3g}%" for x in ticks])
      axes.minorticks_off()
    axes.set_title(panel.title, fontsize=10)
    axes.set_xlabel(panel.xlabel)
    axes.set_ylabel(panel.ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
  for axes in list(grid.flat)[len(panels):]:
    axes.set_visible(False)
  _save(figure, path)


def bars(path: str | os.PathLike, categories: Sequence[str], series: Mapping[str, Sequence[float]],
         *, title: str, xlabel: str, reference: float | None = None,
         reference_label: str = "chance") -> None:
  """Horizontal bars, one group per category (top to bottom) and one bar per series in each."""
  height = 0.8 / max(len(series), 1)
  figure, axes = plt.subplots(figsize=(7.5, 1.2 + 0.25 * len(categories) * max(len(series), 1)))
  positions = np.arange(len(categories))
  for j, (name, values) in enumerate(series.items()):
    axes.barh(positions + j * height, np.nan_to_num(np.asarray(values, float)), height,
              label=name)
  if reference is not None:
    axes.axvline(reference, color="black", linestyle="--", linewidth=1, label=reference_label)
  axes.set_yticks(positions + height * (len(series) - 1) / 2, categories, fontsize=7)
  axes.invert_yaxis()
  axes.set_xlabel(xlabel)
  axes.set_title(title, fontsize=10)
  axes.legend(fontsize=7)
  axes.grid(axis="x", alpha=0.3)
  _save(figure, path)

"""Curves on one axes: W1 along a run, training losses, metric sweeps.

    from sdegen_jax import plots
    plots.line_figure(None, {"EM": (ts, w1)}, xlabel="t", ylabel="W1", logy=True, filename="w1.png")
    plots.save_curves({"loss": losses, "fid": (steps, fids)}, "results/curves.png", logy=True)
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from .figure import new_figure, save_figure

__all__ = ["line_figure", "save_curves"]


def _xy(name, values, x) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, tuple):
        if len(values) != 2:
            raise ValueError(f"series {name!r}: a tuple must be an (x, y) pair, got {len(values)} items.")
        xx, yy = np.asarray(values[0]), np.asarray(values[1])
    else:
        yy = np.asarray(values)
        xx = np.arange(len(yy)) if x is None else np.asarray(x)
    if xx.shape != yy.shape:
        raise ValueError(f"series {name!r}: x has shape {xx.shape} but y {yy.shape}; give one x value per y value.")
    return xx, yy


def line_figure(
    x,
    series: Mapping[str, object],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    hlines: Mapping[str, float] | None = None,
    logy: bool = False,
    logx: bool = False,
    figsize: tuple[float, float] = (6.4, 4.0),
    filename=None,
    styles: Mapping[str, dict] | None = None,
    ax_fn: Callable | None = None,
):
    """Curves y(x) for each label in `series`, with dashed horizontal reference lines `hlines`
    (label → value); returns the Figure.

    A series is a y array, plotted against `x` (against 0, 1, … when `x` is None), or an (x, y)
    pair with its own x. `styles` maps a label to extra `ax.plot` keywords (e.g.
    {"ls": "--", "marker": "o"}); `ax_fn(ax)` may adjust the axes; `filename` also saves it.
    """
    if not series:
        raise ValueError("no series to plot: pass a mapping label → y values or (x, y).")
    fig = new_figure(figsize)
    ax = fig.subplots()
    for name, values in series.items():
        xx, yy = _xy(name, values, x)
        ax.plot(xx, yy, label=str(name), **{"lw": 1.5, **(styles or {}).get(name, {})})
    for i, (name, v) in enumerate((hlines or {}).items()):
        ax.axhline(v, ls="--", lw=1.0, color=f"C{(i + len(series)) % 10}", label=name)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    if ax_fn is not None:
        ax_fn(ax)
    if filename:
        save_figure(fig, filename)
    return fig


def save_curves(
    series: Mapping[str, object],
    path,
    xlabel: str = "step",
    ylabel: str = "",
    title: str | None = None,
    logy: bool = False,
    figsize=(6.0, 4.0),
):
    """`line_figure` of name → values (against 0, 1, …) or name → (x, y), saved to `path`; returns `path`."""
    line_figure(None, series, xlabel=xlabel, ylabel=ylabel, title=title, logy=logy, figsize=figsize, filename=path)
    return path

"""2-D scatter figures: samples over the contours of a true density, one panel per sampler.

    from sdegen_jax import plots
    xs, ys, dens = plots.grid_density_2d(target.log_prob, (-6, 6), (-6, 6))
    plots.scatter_2d_figure([("EM", x_em), ("exact", x_exact)], xs, ys, dens, filename="ring.png")
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .figure import new_figure, save_figure

__all__ = ["grid_density_2d", "scatter_2d", "scatter_2d_figure"]


def grid_density_2d(log_prob: Callable, xlim, ylim, num: int = 200):
    """Evaluate exp(log_prob) on a num × num grid; log_prob maps (m, 2) points to (m,).

    Returns (xs, ys, density) with density[i, j] at (xs[j], ys[i]) (the layout contour wants).
    """
    xs = np.linspace(*xlim, num)
    ys = np.linspace(*ylim, num)
    X, Y = np.meshgrid(xs, ys)
    pts = np.stack([X.reshape(-1), Y.reshape(-1)], axis=1)
    dens = np.exp(np.asarray(log_prob(pts), dtype=np.float64)).reshape(X.shape)
    return xs, ys, dens


def scatter_2d(
    ax,
    samples,
    xs=None,
    ys=None,
    density=None,
    *,
    max_points: int = 5000,
    seed: int = 0,
    title: str | None = None,
    levels: int = 8,
):
    """Scatter (at most `max_points`, chosen with `seed`) of 2-D samples over density contours."""
    s = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    if s.shape[0] > max_points:
        s = s[np.random.default_rng(seed).choice(s.shape[0], size=max_points, replace=False)]
    if density is not None:
        ax.contour(xs, ys, density, levels=levels, colors="black", linewidths=0.8, alpha=0.8)
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=0.35, color="tab:blue", rasterized=True)
    if xs is not None and ys is not None:
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(ys[0], ys[-1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)


def scatter_2d_figure(
    panels: Sequence[tuple[str, object]],
    xs=None,
    ys=None,
    density=None,
    *,
    ncols: int = 4,
    max_points: int = 5000,
    seed: int = 0,
    title: str | None = None,
    panel_size: float = 3.0,
    filename: str | None = None,
):
    """Grid of scatter panels, one per (title, samples), each over the true density's contours."""
    n = len(panels)
    if n == 0:
        raise ValueError("scatter_2d_figure needs at least one (title, samples) panel.")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = new_figure((panel_size * ncols, panel_size * nrows + (0.4 if title else 0.0)))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).reshape(-1)
    for ax, (name, s) in zip(axes, panels):
        scatter_2d(ax, s, xs, ys, density, max_points=max_points, seed=seed, title=name)
    for ax in axes[n:]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    if filename:
        save_figure(fig, filename)
    return fig

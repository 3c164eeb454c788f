"""Figures for metric reports: image grids and training curves, saved as files.

matplotlib is imported lazily and drawn on a bare Agg canvas (no pyplot, so the user's
backend is never switched); install it with the `plots` extra.

    save_image_grid(samples, "results/samples.png", nrow=8, scale="symmetric")
    save_curves({"loss": losses, "fid": (steps, fids)}, "results/curves.png", logy=True)
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np


def _figure(figsize):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("figures need matplotlib: pip install 'sdegen_jax[plots]'") from e
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def make_grid(images, nrow: int = 8, padding: int = 2, scale: str = "unit", pad_value: float = 1.0) -> np.ndarray:
    """Tiles images (N, H, W[, C]) into one (rows·(H+p)+p, nrow·(W+p)+p, C) array in [0, 1].

    nrow: images per row. scale: "unit" ([0, 1]) or "symmetric" ([−1, 1]); values are clipped.
    """
    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {x.shape}.")
    if scale == "symmetric":
        x = (x + 1.0) / 2.0
    elif scale != "unit":
        raise ValueError(f"Unknown scale {scale!r}; expected 'unit' or 'symmetric'.")
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}.")
    x = np.clip(x, 0.0, 1.0)
    n, h, w, c = x.shape
    ncol = min(nrow, n)
    rows = -(-n // ncol)
    grid = np.full((rows * (h + padding) + padding, ncol * (w + padding) + padding, c), pad_value, np.float32)
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top : top + h, left : left + w] = x[i]
    return grid


def save_image_grid(images, path, nrow: int = 8, scale: str = "unit", padding: int = 2, title: str | None = None, dpi: int = 100):
    """Saves images (N, H, W[, C]) as a grid with `nrow` images per row (PNG/PDF by extension)."""
    grid = make_grid(images, nrow, padding, scale)
    h, w = grid.shape[:2]
    scale_px = max(1.0, 400.0 / max(h, w))  # small grids are enlarged (nearest neighbour)
    fig = _figure((w * scale_px / dpi, (h * scale_px + (30 if title else 0)) / dpi))
    ax = fig.add_axes((0, 0, 1, h * scale_px / (h * scale_px + (30 if title else 0))))
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def save_curves(
    series: Mapping[str, Sequence | tuple],
    path,
    xlabel: str = "step",
    ylabel: str = "",
    title: str | None = None,
    logy: bool = False,
    figsize=(6.0, 4.0),
):
    """Plots named series on one axes and saves the figure.

    series: name → values (plotted against 0, 1, …) or name → (x, y).
    """
    if not series:
        raise ValueError("no series to plot.")
    fig = _figure(figsize)
    ax = fig.add_subplot(1, 1, 1)
    for name, s in series.items():
        if isinstance(s, tuple) and len(s) == 2:
            x, y = np.asarray(s[0]), np.asarray(s[1])
        else:
            y = np.asarray(s)
            x = np.arange(len(y))
        if x.shape != y.shape:
            raise ValueError(f"series {name!r}: x has shape {x.shape} but y {y.shape}.")
        ax.plot(x, y, label=str(name))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    return path

"""Image grids: tile (N, H, W[, C]) images into one array and save it as a figure.

    from sdegen_jax import plots
    plots.save_image_grid(samples, "results/samples.png", nrow=8, scale="symmetric")
"""

from __future__ import annotations

import numpy as np

from .figure import new_figure, save_figure

__all__ = ["make_grid", "save_image_grid"]


def make_grid(images, nrow: int = 8, padding: int = 2, scale: str = "unit", pad_value: float = 1.0) -> np.ndarray:
    """Tiles images (N, H, W[, C]) into one (rows·(H+p)+p, ncol·(W+p)+p, C) float32 array in [0, 1],
    ncol = min(nrow, N), image i at row i // ncol, column i % ncol.

    nrow: images per row. scale: "unit" ([0, 1]) or "symmetric" ([−1, 1]); values are clipped.
    """
    # metrics/__init__ loads the reconstruction stack; importing it here keeps `plots` free of it.
    from ..metrics.pixels import to_unit_nhwc

    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}.")
    x = to_unit_nhwc(np.asarray(images, np.float32), scale)
    n, h, w, c = x.shape
    if n == 0:
        raise ValueError("no images given: make_grid needs at least one image.")
    ncol = min(nrow, n)
    rows = -(-n // ncol)
    grid = np.full((rows * (h + padding) + padding, ncol * (w + padding) + padding, c), pad_value, np.float32)
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top : top + h, left : left + w] = x[i]
    return grid


def save_image_grid(
    images, path, nrow: int = 8, scale: str = "unit", padding: int = 2, title: str | None = None, dpi: int = 100
):
    """Saves `make_grid(images, nrow, padding, scale)` to `path` (format by extension); returns `path`.

    Grids under 400 px are enlarged (nearest neighbour); `title` adds a 30 px band on top.
    """
    grid = make_grid(images, nrow, padding, scale)
    h, w = grid.shape[:2]
    scale_px = max(1.0, 400.0 / max(h, w))
    title_px = 30 if title else 0
    fig = new_figure((w * scale_px / dpi, (h * scale_px + title_px) / dpi), layout=None)
    ax = fig.add_axes((0, 0, 1, h * scale_px / (h * scale_px + title_px)))
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path, dpi=dpi)

"""Density evolution of 1-D toy samplers: the sample histogram over time and the final
histogram against the true density.

Everything takes NumPy arrays (JAX arrays are converted) and returns a
`matplotlib.figure.Figure` built without pyplot (figure.py).

    from sdegen_jax import plots
    fig = plots.density_evolution_figure(ts, path, samples, grid, np.exp(logp(grid)))
    plots.save_figure(fig, "results/toy_ve_density.png")

The layout follows seed 002 Figures 1–5: on the left a heat map of the sample
histogram at every saved time (x axis time, y axis state) with a few sample paths in
red; on the right the final histogram against the true density.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .figure import new_figure, save_figure

__all__ = ["NORMALIZATIONS", "histogram_heatmap", "final_histogram", "density_evolution_figure"]

# Colour-bar label of each heat-map normalisation.
NORMALIZATIONS = {"column": "histogram (max-normalised per time)", "density": "density"}


def _as_1d_path(path) -> np.ndarray:
    p = np.asarray(path, dtype=np.float64)
    if p.ndim == 3:
        if p.shape[2] != 1:
            raise ValueError(f"histogram_heatmap needs 1-D samples: path of shape (n, K) or (n, K, 1), got {p.shape}.")
        p = p[..., 0]
    if p.ndim != 2:
        raise ValueError(f"path must have shape (n, K) or (n, K, 1), got {p.shape}.")
    return p


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around monotone centres (increasing or decreasing)."""
    c = np.asarray(centres, dtype=np.float64)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def histogram_heatmap(
    ax,
    times,
    path,
    *,
    y_range: tuple[float, float] | None = None,
    bins: int = 200,
    num_paths: int = 10,
    seed: int = 0,
    normalize: str = "column",
    cmap: str = "viridis",
    path_color: str = "red",
    time_label: str = "t",
    colorbar: bool = False,
):
    """Heat map of the sample histogram at each saved time, with random sample paths.

    Args:
      times: (K,) save times, in the order the sampler visited them (decreasing for a
        reverse SDE: the x axis then runs from T on the left to eps on the right).
      path: (n, K) or (n, K, 1) states.
      y_range: state range shown; default the 0.5–99.5 % quantiles over the whole path.
      normalize: "column" scales each time's histogram to a maximum of 1 (shows the
        shape at every time even when the spread changes a lot); "density" keeps
        probability densities.
      num_paths: sample paths drawn in `path_color` (chosen with `seed`).
      colorbar: also draw the colour bar, labelled by the normalisation.
    Returns the QuadMesh.
    """
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    p = _as_1d_path(path)
    if p.shape[1] != t.size:
        raise ValueError(f"path has {p.shape[1]} saved states but times has {t.size} entries.")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {tuple(NORMALIZATIONS)}, got {normalize!r}.")
    if y_range is None:
        lo, hi = np.quantile(p, [0.005, 0.995])
        pad = 0.05 * (hi - lo)
        y_range = (lo - pad, hi + pad)
    y_edges = np.linspace(y_range[0], y_range[1], bins + 1)
    H = np.stack([np.histogram(p[:, k], bins=y_edges, density=True)[0] for k in range(t.size)], axis=1)
    if normalize == "column":
        H = H / np.maximum(H.max(axis=0, keepdims=True), 1e-300)
    mesh = ax.pcolormesh(_edges(t), y_edges, H, cmap=cmap, shading="flat", rasterized=True)
    if num_paths:
        rng = np.random.default_rng(seed)
        idx = rng.choice(p.shape[0], size=min(num_paths, p.shape[0]), replace=False)
        for i in idx:
            ax.plot(t, p[i], color=path_color, lw=0.7, alpha=0.85)
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(*y_range)
    ax.set_xlabel(time_label)
    ax.set_ylabel("x")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=NORMALIZATIONS[normalize], pad=0.01)
    return mesh


def final_histogram(
    ax,
    samples,
    grid=None,
    density=None,
    *,
    bins: int = 120,
    x_range: tuple[float, float] | None = None,
    label: str = "samples",
    density_label: str = "true density",
    extra_curves: Mapping[str, tuple] | None = None,
):
    """Normalised histogram of 1-D `samples` with the true density curve (grid, density) over it.

    `extra_curves` maps a label to (grid, density) for further reference curves.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    if x_range is None:
        if grid is not None:
            x_range = (float(np.min(grid)), float(np.max(grid)))
        else:
            x_range = tuple(np.quantile(x, [0.001, 0.999]))
    ax.hist(x, bins=bins, range=x_range, density=True, color="tab:blue", alpha=0.55, label=label)
    if grid is not None and density is not None:
        ax.plot(np.asarray(grid).reshape(-1), np.asarray(density).reshape(-1), color="black", lw=1.6, label=density_label)
    for name, (g, d) in (extra_curves or {}).items():
        ax.plot(np.asarray(g).reshape(-1), np.asarray(d).reshape(-1), lw=1.2, ls="--", label=name)
    ax.set_xlim(*x_range)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(loc="upper left", fontsize=8)


def density_evolution_figure(
    times,
    path,
    samples,
    grid,
    density,
    *,
    title: str | None = None,
    heatmap_title: str = "sample histogram over time",
    histogram_title: str = "final samples",
    extra_curves: Mapping[str, tuple] | None = None,
    figsize: tuple[float, float] = (12.0, 4.2),
    filename=None,
    **heatmap,
):
    """Seed 002 Figures 1–5: heat map of the histogram over time + final histogram vs truth.

    Args:
      times: (K,) saved times (path order).  path: (n, K) or (n, K, 1) states.
      samples: final samples (any shape holding n' scalars; may be more than the path's).
      grid, density: the true density exp(log p) on a grid, drawn over the histogram.
      filename: also save the figure there.
      **heatmap: keywords of `histogram_heatmap` (y_range, bins, num_paths, seed, normalize,
        time_label, ...).
    """
    fig = new_figure(figsize)
    ax_h, ax_f = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    histogram_heatmap(ax_h, times, path, colorbar=True, **heatmap)
    ax_h.set_title(heatmap_title)
    final_histogram(ax_f, samples, grid, density, extra_curves=extra_curves)
    ax_f.set_title(histogram_title)
    if title:
        fig.suptitle(title)
    if filename:
        save_figure(fig, filename)
    return fig

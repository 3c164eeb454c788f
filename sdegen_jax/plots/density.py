"""Density-evolution, histogram and scatter figures for 1-D and 2-D toy samplers.

Everything takes NumPy arrays (JAX arrays are converted) and returns a
`matplotlib.figure.Figure` built without pyplot, so no global backend is touched and
saving uses Agg.  matplotlib is imported only when a function is called.

    from sdegen_jax import plots
    fig = plots.density_evolution_figure(ts, path, samples, grid, np.exp(logp(grid)))
    plots.save_figure(fig, "results/toy_ve_density.png")

The layout follows seed 002 Figures 1–5: on the left a heat map of the sample
histogram at every saved time (x axis time, y axis state) with a few sample paths in
red; on the right the final histogram against the true density.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping, Sequence

import numpy as np


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig, filename: str, dpi: int = 120) -> str:
    """Write `fig` to `filename` (PNG by extension), creating the folder; returns the path."""
    os.makedirs(os.path.dirname(filename) or ".", exist_ok=True)
    fig.savefig(filename, dpi=dpi)
    return filename


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
    Returns the QuadMesh (for a colour bar).
    """
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    p = _as_1d_path(path)
    if p.shape[1] != t.size:
        raise ValueError(f"path has {p.shape[1]} saved states but times has {t.size} entries.")
    if normalize not in ("column", "density"):
        raise ValueError(f"normalize must be 'column' or 'density', got {normalize!r}.")
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
    y_range: tuple[float, float] | None = None,
    bins: int = 200,
    num_paths: int = 10,
    seed: int = 0,
    time_label: str = "t",
    normalize: str = "column",
    extra_curves: Mapping[str, tuple] | None = None,
    figsize: tuple[float, float] = (12.0, 4.2),
    filename: str | None = None,
):
    """Seed 002 Figures 1–5: heat map of the histogram over time + final histogram vs truth.

    Args:
      times: (K,) saved times (path order).  path: (n, K) or (n, K, 1) states.
      samples: final samples (any shape holding n' scalars; may be more than the path's).
      normalize: heat-map scaling, "column" or "density" (see `histogram_heatmap`).
      grid, density: the true density exp(log p) on a grid, drawn over the histogram.
      filename: also save the figure there.
    """
    fig = _figure(figsize)
    ax_h, ax_f = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    mesh = histogram_heatmap(
        ax_h, times, path, y_range=y_range, bins=bins, num_paths=num_paths, seed=seed, time_label=time_label,
        normalize=normalize,
    )
    label = "histogram (max-normalised per time)" if normalize == "column" else "density"
    fig.colorbar(mesh, ax=ax_h, label=label, pad=0.01)
    ax_h.set_title(heatmap_title)
    final_histogram(ax_f, samples, grid, density, extra_curves=extra_curves)
    ax_f.set_title(histogram_title)
    if title:
        fig.suptitle(title)
    if filename:
        save_figure(fig, filename)
    return fig


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
    fig = _figure((panel_size * ncols, panel_size * nrows + (0.4 if title else 0.0)))
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
    filename: str | None = None,
    styles: Mapping[str, dict] | None = None,
    ax_fn: Callable | None = None,
):
    """Curves y(x) for each label in `series` (a y array, or an (x, y) pair with its own x),
    with dashed horizontal reference lines `hlines` (label → value).

    `styles` maps a label to extra `ax.plot` keywords (e.g. {"ls": "--", "marker": "o"});
    `ax_fn(ax)` may adjust the axes before saving."""
    fig = _figure(figsize)
    ax = fig.subplots()
    for name, y in series.items():
        if isinstance(y, tuple):
            xx, yy = y
        else:
            xx, yy = x, y
        kw = {"lw": 1.5, **(styles or {}).get(name, {})}
        ax.plot(np.asarray(xx), np.asarray(yy), label=name, **kw)
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

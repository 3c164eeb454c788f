"""The matplotlib set-up every figure of `sdegen_jax.plots` shares: a Figure on its own Agg
canvas (no pyplot, so the user's global backend is never touched) and saving with folder
creation. matplotlib is imported on the first call; install it with the `plots` extra."""

from __future__ import annotations

import os

__all__ = ["new_figure", "save_figure"]


def new_figure(figsize, layout: str | None = "constrained"):
    """A `matplotlib.figure.Figure` of `figsize` inches drawn on a bare Agg canvas."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("sdegen_jax.plots needs matplotlib: pip install 'sdegen_jax[plots]'") from e
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, filename, dpi: int = 120):
    """Writes `fig` to `filename` (format by extension), creating the folder; returns `filename`.
    In a multi-process job only process 0 writes."""
    import jax

    if jax.process_index() != 0:
        return filename
    os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
    fig.savefig(filename, dpi=dpi)
    return filename

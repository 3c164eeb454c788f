"""Figures for toy experiments (matplotlib, imported lazily; install the `plots` extra)."""

from .density import (
    density_evolution_figure,
    final_histogram,
    grid_density_2d,
    histogram_heatmap,
    line_figure,
    save_figure,
    scatter_2d,
    scatter_2d_figure,
)

__all__ = [
    "density_evolution_figure",
    "histogram_heatmap",
    "final_histogram",
    "scatter_2d",
    "scatter_2d_figure",
    "grid_density_2d",
    "line_figure",
    "save_figure",
]

"""Every figure of the library, built without pyplot (the global backend is never touched) and
with matplotlib imported only when a function is called; install the `plots` extra.

- figure.py: the shared set-up (`new_figure`, `save_figure`).
- density.py: 1-D density evolution (histogram over time, final histogram vs truth).
- scatter.py: 2-D samples over density contours.
- curves.py: curves on one axes (`line_figure`, `save_curves`).
- images.py: image grids (`make_grid`, `save_image_grid`).
"""

from .curves import line_figure, save_curves
from .density import density_evolution_figure, final_histogram, histogram_heatmap
from .figure import new_figure, save_figure
from .images import make_grid, save_image_grid
from .scatter import grid_density_2d, scatter_2d, scatter_2d_figure

__all__ = [
    "density_evolution_figure",
    "histogram_heatmap",
    "final_histogram",
    "scatter_2d",
    "scatter_2d_figure",
    "grid_density_2d",
    "line_figure",
    "save_curves",
    "make_grid",
    "save_image_grid",
    "new_figure",
    "save_figure",
]

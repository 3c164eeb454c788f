"""sdegen_jax.plots: image-grid geometry and pixel scales against direct indexing, the data each
figure draws, saving into new folders, bad input, and matplotlib loaded lazily without pyplot."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from sdegen_jax import plots  # noqa: E402


def test_import_is_lazy_and_pyplot_free(tmp_path):
    code = f"""
import sys
import numpy as np
from sdegen_jax import plots
assert "matplotlib" not in sys.modules, "import sdegen_jax.plots loaded matplotlib"
plots.save_image_grid(np.zeros((2, 4, 4)), {str(tmp_path / "g.png")!r})
plots.save_curves({{"a": [1.0, 2.0]}}, {str(tmp_path / "c.png")!r})
t = np.linspace(1.0, 0.0, 5)
plots.density_evolution_figure(t, np.random.default_rng(0).normal(size=(50, 5)), np.zeros(50), t, t)
assert "matplotlib" in sys.modules and "matplotlib.pyplot" not in sys.modules
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


# --------------------------------------------------------------------------- image grids


def test_make_grid_layout():
    imgs = np.random.default_rng(0).random((10, 28, 28, 1))
    grid = plots.make_grid(imgs, nrow=4, padding=2)
    assert grid.shape == (3 * 30 + 2, 4 * 30 + 2, 1) and grid.dtype == np.float32
    np.testing.assert_allclose(grid[2:30, 2:30, 0], imgs[0, ..., 0], rtol=1e-6)
    np.testing.assert_allclose(grid[32:60, 32:60, 0], imgs[5, ..., 0], rtol=1e-6)  # row 1, column 1
    np.testing.assert_array_equal(grid[:2], 1.0)  # padding
    np.testing.assert_array_equal(grid[62:90, 62:, 0], 1.0)  # slots 10 and 11 are empty
    assert plots.make_grid(imgs[:3, ..., 0], nrow=8).shape == (30 + 2, 3 * 30 + 2, 1)  # (N, H, W), N < nrow


def test_make_grid_scales_and_clips():
    x = np.array([-2.0, -1.0, 0.0, 1.0], np.float32).reshape(1, 2, 2, 1)
    np.testing.assert_allclose(plots.make_grid(x, padding=0, scale="symmetric")[..., 0], [[0.0, 0.0], [0.5, 1.0]])
    np.testing.assert_allclose(plots.make_grid(x, padding=0)[..., 0], [[0.0, 0.0], [0.0, 1.0]])
    rgb = plots.make_grid(np.full((2, 3, 3, 3), 0.25), nrow=2, padding=1, pad_value=0.0)
    assert rgb.shape == (5, 9, 3) and rgb.sum() == pytest.approx(0.25 * 2 * 9 * 3)


def test_make_grid_bad_input():
    with pytest.raises(ValueError, match="nrow must be >= 1, got 0"):
        plots.make_grid(np.zeros((2, 4, 4)), nrow=0)
    with pytest.raises(ValueError, match="Unknown scale 'pixels'"):
        plots.make_grid(np.zeros((2, 4, 4)), scale="pixels")
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\) or \(N, H, W, 3\), got shape \(2, 4, 4, 2\)"):
        plots.make_grid(np.zeros((2, 4, 4, 2)))
    with pytest.raises(ValueError, match="no images given"):
        plots.make_grid(np.zeros((0, 4, 4)))


def test_save_image_grid_size_and_folder(tmp_path):
    from PIL import Image

    path = tmp_path / "new" / "grid.png"
    imgs = np.random.default_rng(0).random((10, 28, 28, 1))
    assert plots.save_image_grid(2 * imgs - 1, path, nrow=4, scale="symmetric") == path
    # Grid 92 × 122 px enlarged so its longer side is 400 px, at dpi 100.
    w, h = Image.open(path).size
    assert w == 400 and abs(h - 92 * 400 / 122) <= 1
    w, h = Image.open(plots.save_image_grid(imgs, tmp_path / "titled.png", nrow=4, title="samples")).size
    assert w == 400 and abs(h - (92 * 400 / 122 + 30)) <= 1


# --------------------------------------------------------------------------- curves


def _lines(fig):
    return {ln.get_label(): (ln.get_xdata(), ln.get_ydata()) for ln in fig.axes[0].get_lines()}


def test_line_figure_series_forms():
    fig = plots.line_figure(
        np.array([1.0, 2.0, 3.0]),
        {"shared x": [3.0, 2.0, 1.0], "own x": ([0.5, 1.5], [4.0, 5.0])},
        xlabel="t", ylabel="W1", hlines={"floor": 0.5}, logy=True,
    )  # fmt: skip
    lines = _lines(fig)
    np.testing.assert_array_equal(lines["shared x"][0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(lines["own x"][1], [4.0, 5.0])
    np.testing.assert_array_equal(lines["floor"][1], [0.5, 0.5])
    assert fig.axes[0].get_yscale() == "log" and fig.axes[0].get_xlabel() == "t"
    # x = None: each y against 0, 1, ...
    fig = plots.line_figure(None, {"y": [5.0, 6.0]}, xlabel="", ylabel="")
    np.testing.assert_array_equal(_lines(fig)["y"][0], [0, 1])


def test_save_curves(tmp_path):
    path = tmp_path / "a" / "b" / "curves.png"
    assert plots.save_curves({"loss": [3.0, 2.0, 1.5], "fid": ([0, 2], [10.0, 5.0])}, path, logy=True) == path
    assert path.stat().st_size > 0


def test_curves_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no series to plot"):
        plots.save_curves({}, tmp_path / "c.png")
    with pytest.raises(ValueError, match=r"series 'fid': x has shape \(2,\) but y \(3,\)"):
        plots.save_curves({"fid": ([0, 1], [1.0, 2.0, 3.0])}, tmp_path / "c.png")
    with pytest.raises(ValueError, match=r"series 'fid': a tuple must be an \(x, y\) pair, got 3 items"):
        plots.line_figure(None, {"fid": (1.0, 2.0, 3.0)}, xlabel="", ylabel="")
    assert not (tmp_path / "c.png").exists()


# --------------------------------------------------------------------------- density and scatter


def test_histogram_heatmap_column_normalisation():
    t = np.linspace(1.0, 0.1, 6)
    path = np.random.default_rng(0).normal(size=(400, 6)) * np.linspace(3.0, 0.5, 6)
    fig = plots.density_evolution_figure(
        t, path[..., None], path[:, -1], [-1.0, 1.0], [0.1, 0.1], y_range=(-8, 8), bins=40, num_paths=3
    )
    ax_h, ax_f, ax_cb = fig.axes
    H = np.asarray(ax_h.collections[0].get_array()).reshape(40, 6)
    np.testing.assert_allclose(H.max(axis=0), 1.0)  # every time's histogram scaled to max 1
    assert ax_h.get_ylim() == (-8, 8) and len(ax_h.get_lines()) == 3
    assert ax_cb.get_ylabel() == plots.density.NORMALIZATIONS["column"]
    with pytest.raises(ValueError, match=r"normalize must be one of \('column', 'density'\), got 'max'"):
        plots.density_evolution_figure(t, path, path[:, -1], None, None, normalize="max")
    with pytest.raises(ValueError, match="path has 6 saved states but times has 5 entries"):
        plots.density_evolution_figure(t[:5], path, path[:, -1], None, None)


def test_grid_density_2d_and_scatter():
    def log_normal(p):
        return -0.5 * np.sum(p**2, axis=1) - np.log(2 * np.pi)

    xs, ys, dens = plots.grid_density_2d(log_normal, (-2, 2), (-1, 3), num=5)
    np.testing.assert_allclose(dens[1, 2], 1 / (2 * np.pi))  # (xs[2], ys[1]) = (0, 0)
    np.testing.assert_allclose(dens[4, 0], np.exp(-0.5 * (4 + 9)) / (2 * np.pi))  # (−2, 3)
    fig = plots.scatter_2d_figure([("a", np.zeros((10, 2))), ("b", np.ones((3, 2)))], xs, ys, dens, ncols=4)
    assert len(fig.axes) == 2 and [ax.get_title() for ax in fig.axes] == ["a", "b"]
    with pytest.raises(ValueError, match=r"at least one \(title, samples\) panel"):
        plots.scatter_2d_figure([])

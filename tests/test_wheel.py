"""The wheel holds the library alone (no top-level `experiments`/`benchmarks`), with its
package data, and works installed outside the checkout: in a fresh virtual environment that
sees this environment's packages (so nothing is downloaded and the JAX there is kept: under
`.ci/lower-bounds` that is the declared lowest JAX), `pip install --no-deps` of the wheel, then
from a directory with no checkout: import, sample the exact toy with two samplers, and load
the packaged classifier weights."""

import glob
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SMOKE = """
import jax, numpy as np, sdegen_jax as sg
assert "site-packages" in sg.__file__, sg.__file__
gmm, sde = sg.toy.seed002_mixture(), sg.sde.VPSDE(0.1, 20.0)
for method in ("euler_maruyama", "dpmpp_2m"):
    x = sg.sample(jax.random.key(0), sde, gmm.score_fn(sde), (1,), 4000, method=method, steps=200)
    assert sg.metrics.wasserstein1_to_mixture(np.asarray(x), gmm.marginal(sde, sde.default_eps)) < 0.3
from sdegen_jax.metrics.classifier import load_classifier, probs
clf = load_classifier()
p = probs(np.zeros((2, 28, 28, 1), np.float32), classifier=clf)
assert p.shape == (2, 10) and np.allclose(p.sum(1), 1.0, atol=1e-4)
import importlib.util
assert importlib.util.find_spec("experiments") is None and importlib.util.find_spec("benchmarks") is None
print("ok", jax.__version__)
"""


def test_wheel_contents_and_smoke_install(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True, cwd=tmp_path)
    (wheel,) = glob.glob(str(tmp_path / "dist" / "*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"sdegen_jax", Path(wheel).name.split("-py3")[0] + ".dist-info"}
    assert "sdegen_jax/py.typed" in names
    assert any(n.startswith("sdegen_jax/metrics/weights/mnist_classifier/") for n in names)
    venv = tmp_path / "venv"
    # Away from the checkout (cwd, PYTHONPATH): pip must not find the editable install's metadata.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, cwd=tmp_path, env=env)
    py = str(venv / "bin" / "python")
    # This environment's site-packages, after the new venv's own.  (Not `--system-site-packages`:
    # run from inside a virtual environment, that would see the base interpreter's packages.)
    child_site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                                capture_output=True, text=True, env=env).stdout.strip()
    Path(child_site, "_parent_env.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()))
    subprocess.run([py, "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", wheel], check=True, cwd=tmp_path,
                   env=env)
    run = subprocess.run([py, "-c", SMOKE], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    import jax

    assert run.stdout.split()[-2:] == ["ok", jax.__version__]  # the environment's JAX was kept

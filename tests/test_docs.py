"""The API reference site builds with `mkdocs build --strict` (a broken cross-reference, a
missing page or a snippet pointing at a missing results file fails), its getting-started page
carries the README's Use section, and the experiment pages show their runs' figures."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    index = (site / "index.html").read_text()
    assert "score_fn" in index and "sample_with_info" in index  # the README's Use section
    samplers = (site / "api" / "samplers" / "index.html").read_text()
    assert 'id="sdegen_jax.samplers.DPMSolverPP"' in samplers  # API pages come from the docstrings
    table1 = (site / "experiments" / "table1" / "index.html").read_text()
    assert "table1_curves.png" in table1 and (site / "results" / "table1_curves.png").exists()  # docs/hooks.py
    assert not (site / "hooks.py").exists()

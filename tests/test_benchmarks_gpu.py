"""benchmarks.gpu's plumbing (the GPU timings themselves need a GPU: issue 13)."""

from __future__ import annotations

import json

import jax
import pytest

from benchmarks import gpu


def test_refuses_a_cpu_backend_and_names_the_flag(tmp_path):
    if jax.default_backend() == "gpu":
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit, match="--allow-cpu"):
        gpu.main(["--out-dir", str(tmp_path)])
    assert not list(tmp_path.iterdir())


def test_bad_budget_is_named(capsys):
    with pytest.raises(SystemExit):
        gpu.parse(["--budget-s", "0"])
    assert "--budget-s must be positive, got 0" in capsys.readouterr().err


def test_each_benchmark_runs_apart_and_the_summary_keeps_every_status(tmp_path, monkeypatch):
    # stand-ins for the benchmarks: one that exits 0 (--help), one that fails (a bad flag), one
    # that outruns its limit (0.05 s: a Python start alone takes longer)
    monkeypatch.setattr(gpu, "BENCHMARKS", {
        "ok": ("benchmarks.gpu", ["--help"], ["--help"], 60.0),
        "bad": ("benchmarks.gpu", ["--no-such-flag"], ["--no-such-flag"], 60.0),
        "slow": ("benchmarks.gpu", ["--help"], ["--help"], 0.05),
    })
    summary = gpu.main(["--allow-cpu", "--out-dir", str(tmp_path)])
    rows = summary["benchmarks"]
    assert {k: v["status"] for k, v in rows.items()} == {"ok": "ok", "bad": "failed", "slow": "timed_out"}
    assert "GPU timings" in rows["ok"]["output_tail"] and rows["ok"]["returncode"] == 0
    assert "--no-such-flag" in rows["bad"]["output_tail"] and rows["bad"]["returncode"] == 2
    assert rows["slow"]["returncode"] is None and rows["slow"]["limit_s"] == 0.05
    assert rows["ok"]["command"].endswith(f"--out {tmp_path / 'gpu_ok.json'}")
    written = json.loads((tmp_path / "gpu_summary.json").read_text())
    assert written["benchmarks"].keys() == rows.keys() and {"commit", "dirty"} <= set(written["meta"]["git"])
    # --budget-s shares the time in proportion to the defaults
    summary = gpu.main(["--allow-cpu", "--out-dir", str(tmp_path), "--only", "ok", "bad", "--budget-s", "30"])
    assert [r["limit_s"] for r in summary["benchmarks"].values()] == [15.0, 15.0]

"""The experiments (seed 002 Examples 6–7 and §4.2.2; seed 000 §5's ScoreNet) run end to end
in their quick setting and write well-formed results.

Structure and loose sanity bounds only: the numbers that matter are in results/toy_*.md.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

import jax


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_files(out, name, result, keys):
    data = json.loads((out / f"{name}.json").read_text())
    assert set(data) >= {"name", "metadata", "config", *keys}
    assert data["config"]["quick"] is True
    assert {"command", "git", "versions", "devices"} <= set(data["metadata"])
    assert set(data["metadata"]["git"]) == {"commit", "dirty", "dirty_files", "toplevel"}
    assert f"experiments.{name}" in data["metadata"]["command"] and "--quick" in data["metadata"]["command"]
    md = (out / f"{name}.md").read_text()
    assert "--quick" in md and "|" in md
    assert result["figures"]
    for f in result["figures"]:
        assert os.path.getsize(f) > 10_000, f
    return data


def test_toy_langevin_quick(tmp_path):
    from experiments import toy_langevin

    result = toy_langevin.main(["--quick", "--out-dir", str(tmp_path)])
    data = _check_files(tmp_path, "toy_langevin", result, {"rows", "curves", "ring", "reference"})
    rows = {r["run"]: r for r in data["rows"]}
    assert len(rows) == 4
    for r in rows.values():
        assert _finite(r["w1"]) and 0 < r["w1"] < 5.0
        assert r["nfe"] == r["steps"]
    # the longer run gets much closer than the short one from the same start
    assert rows["N(0,1) start, long run"]["w1"] < 0.6 < rows["N(0,1) start"]["w1"]
    assert _finite(data["ring"]["sliced_w1"]) and data["ring"]["sliced_w1"] < 0.3
    for c in data["curves"].values():
        assert len(c["time"]) == len(c["w1"]) == len(c["left_fraction"])


# fewer samplers than --quick alone: every sampler compiles anew, which dominates here
SMALL = ["--ring-steps", "50"]


def test_toy_ve_quick(tmp_path):
    from experiments import toy_ve

    result = toy_ve.main(["--quick", "--out-dir", str(tmp_path), *SMALL, "--methods", "euler_maruyama", "ode", "--sigma-maxes", "10"])
    data = _check_files(tmp_path, "toy_ve", result, {"rows_a", "rows_b", "rows_c", "rows_d", "facts"})
    for r in data["rows_a"] + data["rows_d"]:
        assert _finite(r["w1"]) and 0 < r["w1"] < 0.35, r
        assert r["nfe"] >= 1 and r["wall_s"] >= 0
    # from the prior the mismatch of p_T (mean 2, variance 125) against N(0, 100) remains
    (b,) = data["rows_b"]
    assert b["start"] == "prior" and 0.1 < b["w1"] < 0.8
    assert abs(data["facts"]["pT_var"] - 125.0) < 0.1 and abs(data["facts"]["pT_mean"] - 2.0) < 1e-4
    raw, centred = sorted(data["rows_c"], key=lambda r: r["centred"])
    assert centred["w1_prior_to_pT"] < raw["w1_prior_to_pT"]
    for r in data["rows_c"]:
        assert _finite(r["w1_from_prior"]) and _finite(r["w1_from_p_T"]) and r["w1_from_p_T"] < 0.35


def test_toy_vp_quick(tmp_path):
    from experiments import toy_vp

    result = toy_vp.main(["--quick", "--out-dir", str(tmp_path), *SMALL, "--methods", "euler_maruyama", "ancestral"])
    data = _check_files(tmp_path, "toy_vp", result, {"rows_a", "rows_b", "rows_c", "rows_d", "facts"})
    for r in data["rows_a"] + data["rows_b"] + data["rows_c"] + data["rows_d"]:
        assert _finite(r["w1"]) and 0 < r["w1"] < 0.35, r
    assert {r["sde"] for r in data["rows_c"]} == {"SubVP", "OU (T=10)"}
    assert data["facts"]["VP"]["w1_prior_to_pT"] < 0.05


def test_nfe_frontier_quick(tmp_path):
    """Few samplers, two NFEs, one setting: the table, the summary and a log-axis figure."""
    from experiments import nfe_frontier

    result = nfe_frontier.main(["--quick", "--no-progress", "--out-dir", str(tmp_path), "--targets", "mixture_1d",
                                "--sdes", "vp"])
    data = json.loads((tmp_path / "nfe_frontier_quick.json").read_text())
    assert data["config"]["quick"] is True and "experiments.nfe_frontier --quick" in data["metadata"]["command"]
    setting = data["toy"]["mixture_1d/vp/p_T"]
    assert {(r["method"], r["nfe_budget"]) for r in setting["rows"]} == {
        (m, n) for m in ("euler_maruyama_scan", "dpmpp_2m", "edm_heun") for n in (5, 20)}
    for r in setting["rows"]:
        assert r["nfe"] <= r["nfe_budget"] and _finite(r["w1"])
    # EDM's Heun takes 2 evaluations a step: 20 → 10 steps, 9 Heun steps + Tweedie = 19.
    assert {r["nfe"] for r in setting["rows"] if r["method"] == "edm_heun"} == {5, 19}
    assert setting["leader_20"]["method"] == "dpmpp_2m"
    assert all(os.path.getsize(f) > 10_000 for f in result["toy"] and data["figures"])
    assert "NFE within 10 %" in (tmp_path / "nfe_frontier_quick.md").read_text()


def test_nfe_frontier_cache_resumes_a_setting_once_per_settings_and_code(tmp_path):
    """A finished setting is read back, not recomputed; other settings get their own entry."""
    from experiments import nfe_frontier

    calls = []
    cfg = nfe_frontier.Config(cache_dir=str(tmp_path))
    compute = lambda: calls.append(1) or {"w1": 0.25}  # noqa: E731
    assert nfe_frontier._cached(cfg, "mixture_1d/vp/p_T", compute) == {"w1": 0.25}
    assert nfe_frontier._cached(cfg, "mixture_1d/vp/p_T", compute) == {"w1": 0.25} and len(calls) == 1
    nfe_frontier._cached(dataclasses.replace(cfg, n=10), "mixture_1d/vp/p_T", compute)
    assert len(calls) == 2 and len(os.listdir(tmp_path)) == 2


def test_discrete_mnist_quick(tmp_path):
    """NCSN and DDPM trained for a few steps: every sampler row, DDPM's bound, the grids."""
    from experiments import discrete_mnist

    result = discrete_mnist.main(["--quick", "--no-progress", "--out-dir", str(tmp_path), "--checkpoint-dir",
                                  str(tmp_path / "ckpt")])
    data = json.loads((tmp_path / "discrete_mnist_quick.json").read_text())
    assert [(r["model"], r["sampler"], r["nfe"]) for r in data["rows"]] == [
        ("ncsn", "annealed Langevin", 10 * 2 + 1), ("ddpm", "ancestral", 10), ("ddpm", "DDIM 5", 5)]
    assert all(_finite(r["fid"]) and 1.0 <= r["inception_score"] <= 10.0 for r in data["rows"])
    ddpm = data["models"]["ddpm"]
    assert ddpm["params"] == data["models"]["ncsn"]["params"] == 1115425  # score_mnist's ScoreNet
    assert _finite(ddpm["bound_bits_per_dim"]) and ddpm["bound_bits_per_dim"] > 0 and ddpm["bound_images"] == 4
    assert all(os.path.getsize(f) > 10_000 for f in result["figures"])
    # a quick run compiles without XLA's backend optimisations, records it, and restores the flag
    assert data["metadata"]["jax_disable_most_optimizations"] is True
    assert jax.config.read("jax_disable_most_optimizations") is False


def test_mixed_precision_quick(tmp_path):
    """float32 and bfloat16-layer runs of toy_train from one seed: both curves, close losses."""
    from experiments import mixed_precision

    result = mixed_precision.main(["--quick", "--out-dir", str(tmp_path), "--checkpoint-root", str(tmp_path / "ckpt")])
    data = json.loads((tmp_path / "mixed_precision_quick.json").read_text())
    assert [r["precision"] for r in data["rows"]] == ["fp32", "bf16"]
    assert abs(data["loss_ratio_last_window"] - 1.0) < 0.05  # measured 0.9996 at 100 steps, 1.000 at 4000
    assert data["scorenet"] == [] and data["scorenet_loss_ratio_last_window"] is None  # full run only
    assert all(os.path.getsize(f) > 10_000 for f in result["figures"])

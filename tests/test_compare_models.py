"""experiments.compare_models --quick: every (dataset, family) row with its metrics, the reused
ScoreNet / BSDE-Gen rows naming their source, the figures, and bad flags named."""

import json
import math
import os

import pytest

from experiments import compare_models


def test_compare_models_quick_writes_every_row(tmp_path):
    out = compare_models.main(["--quick", "--no-progress", "--out-dir", str(tmp_path),
                               "--checkpoint-dir", str(tmp_path / "ckpt")])
    cfg_families = compare_models.Config.quick_overrides()["families"]
    rows = {(r["dataset"], r["family"]): r for r in out["rows"]}
    assert set(rows) == {(d, f) for d in ("toy", "mnist") for f in cfg_families}
    for (ds, family), r in rows.items():
        if ds == "mnist" and family in compare_models.REUSED_ON_MNIST:
            assert r["note"].startswith("reused: results/"), r
            continue
        assert r["params"] > 0 and r["sample_seconds_per_sample"] > 0
        if family != "ppca":  # closed form: no steps; the others stop on the 2-s budget or at 30 steps
            assert r["steps"] == 30 or (r["steps"] >= 1 and r["train_seconds"] >= 2.0), r
        if ds == "toy":
            assert math.isfinite(r["sliced_w1"]) and math.isfinite(r["mmd2"])
        else:
            assert r["fid"] > 0 and r["inception_score"] >= 1.0
        has_nll = family in ("ppca", "vae", "realnvp", "scorenet")
        assert ("nll_bits_per_dim" in r) == has_nll and (not has_nll or math.isfinite(r["nll_bits_per_dim"]))
    # pPCA's 2-D fit of the ring: 2·1 + 2 + 1 parameters, an exact likelihood.
    assert rows[("toy", "ppca")]["params"] == 5 and rows[("toy", "ppca")]["nll_kind"] == "exact"
    assert all(os.path.exists(p) for p in out["figures"].values())
    with open(out["paths"]["json"]) as f:
        doc = json.load(f)
    assert doc["budgets"]["mnist"]["seconds"] == 2.0 and "git" in doc["metadata"]
    md = open(out["paths"]["md"]).read()
    assert "## Toy: 8-Gaussian ring" in md and "## MNIST" in md and "reused:" in md


def test_bad_flags_are_named():
    with pytest.raises(ValueError, match="--families"):
        compare_models.check_config(compare_models.Config(families=("ppca", "diffusion")))
    with pytest.raises(ValueError, match="budget"):
        compare_models.check_config(compare_models.Config(toy_budget_seconds=0))

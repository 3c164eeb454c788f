"""experiments.score_mnist --quick, then experiments.likelihood_mnist --quick and
experiments.controllable_mnist --quick on its model, and benchmarks.likelihood --smoke run end
to end and write well-formed results."""

import json
import math
import os

import pytest

# the tests that share score_mnist --quick run on one xdist worker (conftest.py)
SCORE_QUICK = pytest.mark.xdist_group("score_mnist_quick")


@pytest.fixture(scope="module")
def score_quick(tmp_path_factory):
    """score_mnist --quick, run once for the tests of this module: (its output folder, the
    returned result)."""
    from experiments import score_mnist

    root = tmp_path_factory.mktemp("score_quick")
    result = score_mnist.main(["--quick", "--no-progress", "--checkpoint-dir", str(root / "ckpt"), "--out-dir", str(root)])
    return root, result


@pytest.fixture(scope="module")
def score_ckpt(score_quick):
    """score_mnist --quick's checkpoint."""
    return str(score_quick[0] / "ckpt")


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


@SCORE_QUICK
def test_score_mnist_quick_writes_the_issue_schema(score_quick):
    """ScoreNet on the embedded digits, --quick (about a minute): the JSON of issue 3."""
    out, result = score_quick
    data = json.loads((out / "score_mnist_quick.json").read_text())
    assert {k: v for k, v in data.items() if k not in ("name", "metadata", "config")} == json.loads(
        json.dumps({k: v for k, v in result.items() if k != "json"}))
    assert data["params"] == 1_115_425 and data["dataset"] == "mnist_embedded" and data["epochs"] == 1
    for k in ("seconds_per_epoch_from_median_img_s", "wall_seconds_per_epoch_this_run"):
        assert _finite(data[k]) and data[k] > 0, k
    assert data["epochs_this_run"] == 1
    assert set(data["samplers"]) == {"euler_maruyama", "pc", "ode"}
    for name, s in data["samplers"].items():
        assert s["nfe"] >= 1 and _finite(s["is"]) and 1.0 <= s["is"] <= 10.0 and _finite(s["fid"]) and s["fid"] >= 0
        assert os.path.getsize(data["figures"]["samples"][name]) > 1_000
    assert data["samplers"]["euler_maruyama"]["nfe"] == 20  # 19 steps + the Tweedie end (denoise)
    # one epoch of training is far from digits; real held-out digits are (classifier IS ≫ 1)
    assert data["real_digits"]["is_heldout"] > 5.0 > data["samplers"]["euler_maruyama"]["is"]
    assert _finite(data["reconstruction_error"]) and data["reconstruction_error"] >= 0  # 1 epoch, rtol 1e-3: large
    assert os.path.getsize(data["figures"]["loss"]) > 1_000


def test_likelihood_benchmark_smoke(tmp_path):
    from benchmarks import likelihood as bench

    out = tmp_path / "bench_likelihood.json"
    bench.main(["--smoke", "--out", str(out)])
    data = json.loads(out.read_text())
    assert {"command", "git", "versions"} <= set(data["meta"])
    rows = data["results"]["mlp"]
    assert set(rows) == {"exact", "hutchinson_1", "hutchinson_4"}
    for r in rows.values():
        assert r["s_per_image"] > 0 and r["nfe"] > 0 and math.isfinite(r["mean_logp_per_dim"])
    assert rows["hutchinson_1"]["time_per_image_over_hutchinson_1"] == 1.0


@SCORE_QUICK
def test_likelihood_mnist_quick(tmp_path, score_ckpt):
    from experiments import likelihood_mnist

    out = tmp_path / "out"
    likelihood_mnist.main(["--quick", "--no-progress", "--out-dir", str(out), "--checkpoint-dir", score_ckpt])
    data = json.loads((out / "likelihood_mnist_quick.json").read_text())
    (row,) = data["rows"]
    assert row["n"] == 16 and len(data["bits_per_dim"]) == 16
    # an (almost) untrained model: far above the anchor, but a finite, positive bits/dim
    assert 1.0 < row["bpd"] < 30.0 and row["ci95"] > 0 and row["nfe"] > 0
    assert "| ScoreNet" in (out / "likelihood_mnist_quick.md").read_text()


@SCORE_QUICK
def test_controllable_mnist_quick(tmp_path, score_ckpt):
    from experiments import controllable_mnist

    out = tmp_path / "out"
    args = ["--quick", "--no-progress", "--out-dir", str(out), "--work-dir", str(tmp_path / "work"),
            "--checkpoint-dir", score_ckpt]
    controllable_mnist.main(args)
    data = json.loads((out / "controllable_mnist_quick.json").read_text())
    assert set(data["per_class_accuracy"]) == {str(c) for c in range(10)}
    assert 0.0 <= data["accuracy"] <= 1.0
    assert {(r["mask"], r["method"]) for r in data["inpainting"]} == {
        ("right_half", "em"), ("right_half", "pc"), ("random_70", "em"), ("random_70", "pc")}
    for r in data["inpainting"]:
        assert r["mse"] >= 0 and r["mse_mean_digit"] > 0 and r["nfe"] in (10, 19)
    for name in ("classes", "colorization", "inpaint_right_half_em", "inpaint_random_70_pc"):
        assert (out / f"controllable_mnist_quick_{name}.png").stat().st_size > 0


def test_likelihood_mnist_names_the_missing_checkpoint(tmp_path):
    from experiments import likelihood_mnist

    with pytest.raises(FileNotFoundError, match="python -m experiments.score_mnist"):
        likelihood_mnist.main(["--no-progress", "--out-dir", str(tmp_path), "--checkpoint-dir", str(tmp_path / "none")])

"""experiments.likelihood_mnist --quick and experiments.controllable_mnist --quick (score_mnist's
quick model, trained first when missing) and benchmarks.likelihood --smoke run end to end and
write well-formed results."""

import json
import math

import pytest


@pytest.fixture(scope="module")
def score_ckpt(tmp_path_factory):
    """score_mnist --quick's checkpoint, trained once for the tests of this module."""
    from experiments import score_mnist

    root = tmp_path_factory.mktemp("score_quick")
    score_mnist.main(["--quick", "--no-progress", "--checkpoint-dir", str(root / "ckpt"), "--out-dir", str(root)])
    return str(root / "ckpt")


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

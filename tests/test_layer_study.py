"""benchmarks.layer_study --smoke: runs in seconds and writes the JSON the full study writes."""

from __future__ import annotations

import json

from benchmarks import layer_study


def test_layer_study_smoke_writes_the_json(tmp_path):
    out = tmp_path / "bench_layers.json"
    doc = layer_study.main(["--smoke", "--out", str(out)])
    assert json.loads(out.read_text()) == doc

    meta = doc["meta"]
    assert meta["command"] == f"python -m benchmarks.layer_study --smoke --out {out}"
    assert meta["compiler_options"] == layer_study.SMOKE_OPTIONS  # passed explicitly, smoke only
    assert {"git", "cpu", "loadavg_start", "loadavg_end", "wall_s"} <= set(meta)
    assert doc["settings"]["preset"] == "smoke" and doc["settings"]["batch"] == 2

    convs = doc["convolutions"]
    assert set(convs) == {"conv4", "tconv4"}
    assert set(convs["conv4"]) == {"plain", "gemm", "gemm_custom_vjp", "space_to_depth", "shape"}
    assert set(convs["tconv4"]) == {"plain", "gemm", "gemm_custom_vjp", "subpixel", "shape"}
    assert convs["tconv4"]["shape"] == {"kind": "tconv", "H": 2, "C_in": 256, "C_out": 128, "stride": 2, "output_padding": 0}
    for name in convs:
        for impl, row in convs[name].items():
            if impl != "shape":
                assert {"fwd_ms", "bwd_ms", "vmap_bwd_ms", "fwd_cpu_ms", "bwd_median_ms"} <= set(row), (name, impl)
                assert all(v > 0 for v in row.values())

    norms = doc["group_norm_plus_swish"]
    assert set(norms) == {"gnorm4"}
    assert set(norms["gnorm4"]) == {"nnx", "fast"}
    assert {"fwd_ms", "fwd+bwd_ms"} <= set(norms["gnorm4"]["fast"])

    assert doc["totals_ms"]["up:gemm:bwd"] > 0 and "down:plain:vmap_bwd" in doc["totals_ms"]
    # Every implementation is exact (float32 reassociation only).
    for name, errors in doc["exactness_max_rel_error_vs_plain"].items():
        assert max(errors.values()) < 1e-4, (name, errors)

"""A training run killed mid-way then resumed (1 against 8 devices: tests/test_distributed.py).

Each run is a subprocess of `python -m experiments.toy_train`, because the number of
CPU devices is fixed when JAX starts (JAX_NUM_CPU_DEVICES).
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(tmp, name, devices, cache, *extra, background=False):
    out = os.path.join(tmp, name)
    args = [
        sys.executable, "-m", "experiments.toy_train", "--quick", "--num-steps", "20", "--log-every", "1",
        "--batch-size", "64", "--samplers", "", "--no-progress",
        "--checkpoint-dir", os.path.join(out, "ckpt"), "--out-dir", out, "--save-params", os.path.join(out, "params.npz"),
        *extra,
    ]
    env = dict(os.environ, JAX_NUM_CPU_DEVICES=str(devices), JAX_PLATFORMS="cpu", **cache)
    if background:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _result(out):
    with open(os.path.join(out, "toy_train.json")) as f:
        res = json.load(f)
    return res, np.load(os.path.join(out, "params.npz"))


def test_killed_run_resumes_to_the_uninterrupted_parameters(tmp_path, subprocess_compilation_cache):
    extra = ("--checkpoint-every", "50", "--num-steps", "200")
    cache = subprocess_compilation_cache
    ref, ref_params = _result(_run(str(tmp_path), "ref", 2, cache, *extra))

    # Start the same run, kill it (SIGKILL, no clean-up) once the step-50 checkpoint exists.
    proc, out = _run(str(tmp_path), "killed", 2, cache, *extra, background=True)
    ckpt = os.path.join(out, "ckpt")
    deadline = time.time() + 300
    while time.time() < deadline:
        steps = [int(d) for d in os.listdir(ckpt) if d.isdigit()] if os.path.isdir(ckpt) else []
        if steps or proc.poll() is not None:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed (machine too fast for this timing)")
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert not os.path.exists(os.path.join(out, "toy_train.json"))
    resumed, resumed_params = _result(_run(str(tmp_path), "killed", 2, cache, *extra))
    for k in ref_params.files:
        np.testing.assert_array_equal(ref_params[k], resumed_params[k])
    assert resumed["losses"] == ref["losses"]

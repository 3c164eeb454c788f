"""The GPU timings of issue 13, in one command that fits a short accelerator lease.

    python -m benchmarks.gpu                         # results/gpu_<name>.json + results/gpu_summary.json
    python -m benchmarks.gpu --only samplers train   # some of them
    python -m benchmarks.gpu --allow-cpu --smoke     # the plumbing on a CPU (tests/test_benchmarks_gpu.py)

It runs the project's own benchmarks, each as its own process under a time limit, so that one
that fails or overruns costs only its share of the lease:

    samplers   sampler throughput (img/s) at GPU batch sizes, diffrax against a bare `lax.scan`,
               the few-step solvers at equal NFE                      -> results/gpu_samplers.json
    train      ScoreNet training throughput, against the Flax port, PyTorch (when the machine has
               it) and the measured matmul peak: FLOP utilisation     -> results/gpu_train.json
    bsde       BSDE-Gen's training step at the reference sizes        -> results/gpu_bsde.json
    functional the spectral sampler and U-ViT / modulation-network training -> results/gpu_functional.json

`results/gpu_summary.json` records, for each, its command, exit status, wall time and the tail of
its output, with the device (`jax.devices()`, `nvidia-smi`) and the commit: a benchmark that ran
out of time is reported as such, not dropped.  Each benchmark's own JSON carries its settings and
provenance as on the CPU.  Without a GPU it stops at once (`--allow-cpu` runs it anyway).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import jax

from benchmarks._timing import REPO_ROOT, logger, metadata, write_json

# name -> (module, its arguments on a GPU, its arguments for --smoke, default seconds)
BENCHMARKS: dict[str, tuple[str, list[str], list[str], float]] = {
    "samplers": ("benchmarks.samplers", ["--quick", "--batches", "256", "4096", "--steps", "100", "1000"],
                 ["--quick", "--smoke"], 150.0),
    "train": ("benchmarks.train_throughput", ["--quick", "--batches", "64", "512", "2048"],
              ["--quick", "--smoke", "--no-torch"], 150.0),
    "bsde": ("benchmarks.bsde", ["--quick"], ["--smoke"], 90.0),
    "functional": ("benchmarks.functional", ["--quick"], ["--smoke"], 90.0),
}


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="some of the benchmarks (default all)")
    p.add_argument("--out-dir", type=Path, default=REPO_ROOT / "results")
    p.add_argument("--budget-s", type=float, default=None,
                   help="seconds for all of them together, shared in proportion to their defaults "
                        f"(default {sum(b[3] for b in BENCHMARKS.values()):g})")
    p.add_argument("--smoke", action="store_true", help="each benchmark's seconds-long smoke setting")
    p.add_argument("--allow-cpu", action="store_true", help="run without a GPU (the plumbing only)")
    args = p.parse_args(argv)
    if args.budget_s is not None and args.budget_s <= 0:
        p.error(f"--budget-s must be positive, got {args.budget_s:g}")
    return args


def nvidia_smi() -> str | None:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def run_one(module: str, argv: list[str], out: Path, limit_s: float) -> dict:
    """`python -m module *argv --out out` under `limit_s` seconds: its status and output tail."""
    cmd = [sys.executable, "-m", module, *argv, "--out", str(out)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=limit_s)
        status, rc, output = ("ok" if proc.returncode == 0 else "failed"), proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        status, rc = "timed_out", None
        output = "".join(s.decode() if isinstance(s, bytes) else (s or "") for s in (e.stdout, e.stderr))
    return {"command": " ".join(["python", *cmd[1:]]), "status": status,
            "returncode": rc, "wall_s": time.perf_counter() - t0, "limit_s": limit_s,
            "json": str(out) if status == "ok" and out.exists() else None, "output_tail": output[-4000:]}


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    backend = jax.default_backend()
    if backend != "gpu" and not args.allow_cpu:
        raise SystemExit(f"benchmarks.gpu: JAX's backend is {backend!r}, not 'gpu' (devices {jax.devices()}); "
                         "install a CUDA jaxlib, or pass --allow-cpu to run the plumbing on this machine.")
    names = args.only or list(BENCHMARKS)
    total_default = sum(BENCHMARKS[n][3] for n in names)
    scale = (args.budget_s / total_default) if args.budget_s else 1.0
    log = logger()
    summary = {"meta": metadata(" ".join(["python -m benchmarks.gpu", *argv])), "devices": [str(d) for d in jax.devices()],
               "nvidia_smi": nvidia_smi(), "smoke": args.smoke, "benchmarks": {}}
    prefix = "gpu_smoke_" if args.smoke else "gpu_"
    for name in names:
        module, gpu_args, smoke_args, seconds = BENCHMARKS[name]
        log(f"{name}: {module}, at most {seconds * scale:.0f} s")
        row = run_one(module, smoke_args if args.smoke else gpu_args, args.out_dir / f"{prefix}{name}.json", seconds * scale)
        log(f"{name}: {row['status']} in {row['wall_s']:.0f} s")
        summary["benchmarks"][name] = row
        write_json(args.out_dir / f"{prefix}summary.json", summary)  # after each: a lost lease keeps what ran
    return summary


if __name__ == "__main__":
    result = main()
    print(json.dumps({k: v["status"] for k, v in result["benchmarks"].items()}))
    sys.exit(0 if all(v["status"] == "ok" for v in result["benchmarks"].values()) else 1)

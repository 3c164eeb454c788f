"""Run a command as N local processes of one JAX job, on loopback:

    python -m sdegen_jax.launch --processes 2 -- python -m experiments.score_mnist --quick
    python -m sdegen_jax.launch --processes 2 --cpu-devices 4 -- python -m experiments.toy_train

Each process gets SDEGEN_COORDINATOR_ADDRESS=127.0.0.1:PORT, SDEGEN_NUM_PROCESSES and
SDEGEN_PROCESS_ID, which `sg.train.distributed.initialize()` reads (the experiments call it
first), so the training code runs unchanged over the devices of all processes.
`--cpu-devices K` simulates K CPU devices per process (JAX_NUM_CPU_DEVICES, JAX_PLATFORMS=cpu).
Process 0's output is passed through; the others' stdout is dropped and their stderr kept
(prefixed) only if they fail.  If one process fails, the others are stopped, and the launcher
exits with its code.  On a real cluster use the same training command under the cluster's
launcher instead (README, "Many devices").
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["free_port", "launch", "main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(command: list[str], processes: int, *, cpu_devices: int | None = None, port: int | None = None,
           timeout: float | None = None) -> int:
    """Run `command` as `processes` processes of one job; returns the first non-zero exit code, or 0."""
    if processes < 1:
        raise ValueError(f"--processes must be >= 1, got {processes}.")
    if not command:
        raise ValueError("give the command to run after `--`, e.g. -- python -m experiments.toy_train")
    port = free_port() if port is None else port
    procs, logs = [], []
    for pid in range(processes):
        env = dict(os.environ, SDEGEN_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", SDEGEN_NUM_PROCESSES=str(processes),
                   SDEGEN_PROCESS_ID=str(pid))
        if cpu_devices is not None:
            env.update(JAX_NUM_CPU_DEVICES=str(cpu_devices), JAX_PLATFORMS="cpu")
        out = None if pid == 0 else subprocess.DEVNULL
        # The others' stderr goes to a file (a pipe read only at the end would fill and block them).
        err = None if pid == 0 else tempfile.TemporaryFile()
        logs.append(err)
        procs.append(subprocess.Popen(command, env=env, stdout=out, stderr=err))
    deadline = None if timeout is None else time.time() + timeout
    code = 0
    try:
        while any(p.poll() is None for p in procs):
            failed = [p for p in procs if p.poll() not in (None, 0)]
            if failed or (deadline is not None and time.time() > deadline):
                code = failed[0].returncode if failed else 124
                break
            time.sleep(0.05)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    for pid, (p, log) in enumerate(zip(procs, logs)):
        if log is None:
            continue
        if p.returncode:
            log.seek(0)
            lines = log.read().decode(errors="replace").splitlines()[-40:]
            sys.stderr.write("".join(f"[process {pid}] {line}\n" for line in lines))
        log.close()
    if code == 0:
        code = next((p.returncode for p in procs if p.returncode), 0)
    return code


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--" not in argv:
        raise SystemExit("usage: python -m sdegen_jax.launch --processes N [--cpu-devices K] -- COMMAND ...")
    split = argv.index("--")
    p = argparse.ArgumentParser(prog="python -m sdegen_jax.launch", description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", type=int, required=True, help="number of processes")
    p.add_argument("--cpu-devices", type=int, help="simulated CPU devices per process")
    p.add_argument("--port", type=int, help="coordinator port on 127.0.0.1 (default: a free one)")
    p.add_argument("--timeout", type=float, help="seconds before all processes are stopped")
    args = p.parse_args(argv[:split])
    return launch(argv[split + 1 :], args.processes, cpu_devices=args.cpu_devices, port=args.port, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())

"""Typed experiment configs from the command line, with `tyro`.

    @dataclasses.dataclass
    class Config:
        steps: int = 5000  # number of sampler steps
        quick: bool = False

        @classmethod
        def quick_overrides(cls): return {"steps": 100}

    cfg = parse_config(Config, description=__doc__)   # --steps 100 --quick

Field comments become the `--help` text.  `--quick` applies `quick_overrides()` as new
defaults, so flags given explicitly still win (`--quick --steps 50`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys

import tyro


@contextlib.contextmanager
def xla_fast_compile(enabled: bool = True):
    """Programs compiled inside skip XLA's backend optimisations (JAX's documented
    `jax_disable_most_optimizations` flag), restored on exit.  Executables already compiled
    keep their level; ones compiled inside stay cached at theirs."""
    import jax

    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", bool(enabled) or previous)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", previous)


def fast_compile_when_quick(main):
    """Run `main(argv)` under `xla_fast_compile` when argv has `--quick`.

    For the experiments whose `--quick` run (the CI smoke test) compiles far more than it
    computes: a few train steps of a 1.1M-parameter ScoreNet compile for 17 s at XLA's
    default level and for ~6 s without backend optimisation, and then run a handful of
    times.  Measured per experiment (README, under the test command); experiments whose quick runs
    are compute-bound (compare_models, likelihood_mnist, mixed_precision) got slower with
    it and do not use it.  Full runs never do.  The results file records the flag
    (`metadata["jax_disable_most_optimizations"]`)."""

    @functools.wraps(main)
    def wrapped(argv=None):
        args = sys.argv[1:] if argv is None else list(argv)
        with xla_fast_compile("--quick" in args):
            return main(argv)

    return wrapped


def settings_key(settings) -> str:
    """A short, stable name for JSON-able `settings` (sha1 of their sorted JSON, 10 hex digits):
    the file or folder key under which a resumable run keeps work done with those settings."""
    import hashlib
    import json

    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def check_resumable(checkpoint_dir: str, settings: dict, *, has_checkpoint: bool) -> None:
    """Refuse to resume checkpoints in `checkpoint_dir` trained under other `settings` (JSON-able:
    what the trained parameters depend on).  The settings are recorded in
    `checkpoint_dir/training_settings.json` when training starts; a resume compares them and
    raises, naming the fields that differ, instead of silently continuing another model."""
    import json
    import os

    path = os.path.join(checkpoint_dir, "training_settings.json")
    settings = json.loads(json.dumps(settings))  # tuples as lists, as they are read back
    if os.path.exists(path):
        with open(path) as f:
            recorded = json.load(f)
        differ = sorted(k for k in set(recorded) | set(settings) if recorded.get(k) != settings.get(k))
        if differ:
            raise ValueError(f"{checkpoint_dir} holds checkpoints trained with other settings ({', '.join(differ)} "
                             f"differ: {[(k, recorded.get(k), settings.get(k)) for k in differ]}); pass --fresh to "
                             "retrain them, or give another --checkpoint-dir.")
        return
    if has_checkpoint:
        print(f"note: {checkpoint_dir} does not record the settings its checkpoints were trained with "
              "(written before they were recorded); resuming it as trained with the current ones.", flush=True)
    os.makedirs(checkpoint_dir, exist_ok=True)
    with open(path, "w") as f:
        json.dump(settings, f, indent=1, sort_keys=True)


def start_metadata(name: str, argv=None) -> dict:
    """The provenance of a run, taken at its start (commit, dirty flag, versions, devices)."""
    from sdegen_jax.provenance import run_metadata

    return run_metadata(command_for(name, argv))


def parse_config(cls, argv=None, description: str | None = None):
    """Parse `argv` (default sys.argv[1:]) into the dataclass `cls`."""
    args = list(sys.argv[1:] if argv is None else argv)
    default = None
    if "--quick" in args and hasattr(cls, "quick_overrides"):
        fields = {f.name for f in dataclasses.fields(cls)}
        default = cls(**{**cls.quick_overrides(), **({"quick": True} if "quick" in fields else {})})
    cfg = tyro.cli(cls, args=args, default=default, description=description)
    # Join a multi-process job when one is configured (sdegen_jax.launch, SLURM, ...), before
    # anything touches a device; a single process otherwise.
    from sdegen_jax.train.distributed import initialize

    initialize()
    return cfg


def read_training_log(log_path: str, checkpoint_dir: str) -> list[dict]:
    """The JSONL metric log of a training run, or [] with a note when the checkpoint in
    `checkpoint_dir` had already finished training and its log was written elsewhere."""
    from sdegen_jax.train import read_log

    log = read_log(log_path, missing_ok=True)
    if not log:
        print(f"note: no training log at {log_path} (training had already finished in {checkpoint_dir}); "
              "rerun with --fresh to retrain and log.", flush=True)
    return log


def command_for(name: str, argv=None) -> str:
    """The command line that reproduces `python -m experiments.<name>` with `argv`."""
    import shlex

    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python -m", f"experiments.{name}", *(shlex.quote(a) for a in args)])

"""Typed experiment configs from the command line: a dataclass becomes an argparse parser.

    @dataclasses.dataclass
    class Config:
        steps: int = 5000
        quick: bool = False

    cfg = parse_config(Config, description=__doc__)   # --steps 100 --quick
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import typing


def _str2bool(v: str) -> bool:
    if v.lower() in {"1", "true", "yes", "y"}:
        return True
    if v.lower() in {"0", "false", "no", "n"}:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {v!r}")


def parse_config(cls, argv=None, description: str | None = None):
    """Parse `argv` into an instance of the dataclass `cls` (fields become --flags).

    A field named `quick` becomes a plain switch; when set and `cls` has a
    `quick_overrides()` classmethod, those values apply unless given explicitly.
    """
    hints = typing.get_type_hints(cls)
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in dataclasses.fields(cls):
        name = "--" + f.name.replace("_", "-")
        typ = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        origin = typing.get_origin(typ)
        if typ is bool and f.name == "quick":
            parser.add_argument(name, action="store_true", help="quick setting for CI")
        elif typ is bool:
            parser.add_argument(name, type=_str2bool, default=default, metavar="BOOL")
        elif origin in (tuple, list):
            (inner, *_) = typing.get_args(typ)
            parser.add_argument(name, type=inner, nargs="+", default=default)
        elif origin is typing.Union or str(origin) == "types.UnionType":
            inner = next(a for a in typing.get_args(typ) if a is not type(None))
            parser.add_argument(name, type=inner, default=default)
        else:
            parser.add_argument(name, type=typ, default=default)
    args = parser.parse_args(argv)
    given = {a.split("=")[0][2:].replace("-", "_") for a in (sys.argv[1:] if argv is None else argv) if a.startswith("--")}
    values = vars(args)
    if values.get("quick") and hasattr(cls, "quick_overrides"):
        for k, v in cls.quick_overrides().items():
            if k not in given:
                values[k] = v
    return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items()})


def command_line() -> str:
    """The command that produced this run, for results files."""
    return " ".join(["python -m", sys.modules["__main__"].__spec__.name if getattr(sys.modules["__main__"], "__spec__", None) else sys.argv[0], *sys.argv[1:]])


def run_metadata() -> dict:
    """Command, git commit, JAX version and devices, recorded beside every result."""
    import jax

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        commit = "unknown"
    return {
        "command": command_line(),
        "git_commit": commit,
        "jax_version": jax.__version__,
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
    }


def write_json(path: str, payload: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=False)
        f.write("\n")


def read_training_log(log_path: str, checkpoint_dir: str) -> list[dict]:
    """The JSONL metric log of a training run, or [] with a note when the checkpoint in
    `checkpoint_dir` had already finished training and its log was written elsewhere."""
    from sdegen_jax.train import read_log

    log = read_log(log_path, missing_ok=True)
    if not log:
        print(f"note: no training log at {log_path} (training had already finished in {checkpoint_dir}); "
              "rerun with --fresh true to retrain and log.", flush=True)
    return log

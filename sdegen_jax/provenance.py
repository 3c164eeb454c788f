"""Where a result came from: the git commit, whether the tree was dirty, versions, devices.

Every results file the experiments and benchmarks write records `run_metadata(...)`, so a
figure can always be traced to the code that made it.

    from sdegen_jax.provenance import run_metadata
    meta = run_metadata("python -m experiments.toy_ve --quick")
    meta["git"]  # {"commit": "...", "dirty": False, "dirty_files": [], "toplevel": "..."}

"Dirty" means the checkout differs from its commit in any tracked or untracked, not ignored,
file outside `results/` (results are what a run writes; a rerun must not mark itself dirty).
Git runs in the repository that holds `path` (by default the one holding this package), with
the pathspecs taken from the repository's top level, whatever the current directory is.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["OUTPUT_PATHS", "git_state", "code_version", "command_line", "run_metadata"]

# Paths a run writes into; changes there do not make the code dirty.
OUTPUT_PATHS = ("results",)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def git_state(path: str | os.PathLike | None = None) -> dict:
    """{"commit", "dirty", "dirty_files", "toplevel"} of the git checkout holding `path`.

    All values are None outside a git checkout (e.g. an installed wheel) or without git.
    """
    start = Path(path) if path is not None else Path(__file__).resolve().parent
    start = start if start.is_dir() else start.parent
    top = _git(["rev-parse", "--show-toplevel"], start)
    if top is None:
        return {"commit": None, "dirty": None, "dirty_files": None, "toplevel": None}
    top_path = Path(top.strip())
    commit = _git(["rev-parse", "HEAD"], top_path)
    excludes = [f":(exclude){p}" for p in OUTPUT_PATHS]
    status = _git(["status", "--porcelain", "--untracked-files=all", "--", ".", *excludes], top_path)
    files = None if status is None else [line[3:] for line in status.splitlines() if line.strip()]
    return {
        "commit": None if commit is None else commit.strip(),
        "dirty": None if files is None else bool(files),
        "dirty_files": files,
        "toplevel": str(top_path),
    }


def code_version(path: str | os.PathLike | None = None) -> str | None:
    """An identifier of the code under the directory `path` (by default this package): the git
    tree of that directory at HEAD plus a hash of its uncommitted diff, so two checkouts whose
    files there agree give the same string whatever else differs.  A cache keyed by it is reused
    only by the same code.  None outside a git checkout or without git.
    """
    start = Path(path) if path is not None else Path(__file__).resolve().parent
    start = start if start.is_dir() else start.parent
    tree = _git(["rev-parse", "HEAD:./"], start)
    diff = _git(["diff", "HEAD", "--", "."], start)
    if tree is None or diff is None:
        return None
    return tree.strip() + "+" + hashlib.sha1(diff.encode()).hexdigest()[:8]


def command_line() -> str:
    """The command that started this process, as `python -m module args` where it applies."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    head = ["python -m", spec.name] if spec is not None and spec.name else ["python", sys.argv[0]]
    return " ".join([*head, *sys.argv[1:]])


def run_metadata(command: str | None = None, *, path: str | os.PathLike | None = None) -> dict:
    """Command, git state, library versions, devices and CPU count, for a results file."""
    import jax

    versions = {"python": platform.python_version(), "jax": jax.__version__}
    for name in ("jaxlib", "flax", "optax", "diffrax", "equinox", "orbax.checkpoint"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", None)
    return {
        "command": command if command is not None else command_line(),
        "git": git_state(path),
        "versions": versions,
        "platform": platform.platform(),
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
        "jax_disable_most_optimizations": bool(jax.config.read("jax_disable_most_optimizations")),
    }

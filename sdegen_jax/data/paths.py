"""Where prepared TFDS datasets live: argument > $SDEGEN_DATA_DIR > ~/.cache/sdegen_jax/tfds."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "DEFAULT_DATA_DIR", "resolve_data_dir"]

ENV_VAR = "SDEGEN_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/sdegen_jax/tfds")


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory to use: `data_dir` if given, else $SDEGEN_DATA_DIR, else the default."""
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().resolve()

"""Results files: a JSON of the figures (with provenance) and a markdown table beside it.

    paths = write_results("results", "toy_ve", {"rows": rows}, config=cfg,
                          markdown=markdown_table(rows, COLUMNS))

Every results file records `provenance.run_metadata` (command, commit, dirty flag, versions),
so a figure can always be traced to the code that computed it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Sequence

import numpy as np

from .provenance import run_metadata

__all__ = ["Column", "to_builtin", "format_table", "markdown_table", "write_json", "write_results"]

def _primary() -> bool:
    import jax

    return jax.process_index() == 0


# (key, header, format spec) of one table column.
Column = tuple[str, str, str]


def to_builtin(x: Any) -> Any:
    """numpy/JAX scalars and arrays (also inside dicts, lists, dataclasses) to JSON types."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return to_builtin(dataclasses.asdict(x))
    if isinstance(x, dict):
        return {str(k): to_builtin(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_builtin(v) for v in x]
    if hasattr(x, "__array__") and not isinstance(x, (str, bytes)):
        return np.asarray(x).tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def _cells(rows: Sequence[dict], columns: Sequence[Column]) -> list[list[str]]:
    return [[("" if r.get(k) is None else format(r[k], f)) for k, _, f in columns] for r in rows]


def format_table(rows: Sequence[dict], columns: Sequence[Column]) -> str:
    """A plain-text table for the terminal."""
    cells = [[h for _, h, _ in columns], *_cells(rows, columns)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[dict], columns: Sequence[Column]) -> str:
    head = "| " + " | ".join(h for _, h, _ in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    return "\n".join([head, sep, *("| " + " | ".join(c) + " |" for c in _cells(rows, columns))])


def write_json(path: str | os.PathLike, doc: dict) -> str:
    """Write `doc` as indented JSON, atomically (a killed run never leaves half a file).  In a
    multi-process job only process 0 writes."""
    path = os.fspath(path)
    if not _primary():
        return path
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(to_builtin(doc), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path


def write_results(
    out_dir: str | os.PathLike,
    name: str,
    payload: dict,
    *,
    config: Any = None,
    command: str | None = None,
    markdown: str | None = None,
    metadata: dict | None = None,
) -> dict:
    """Write `out_dir/name.json` (metadata, config, payload) and, with `markdown`,
    `out_dir/name.md` (a header naming the command and commit, then the text).
    `metadata`: `provenance.run_metadata(...)` taken when the run STARTED (recommended: the
    tree may change while a long run works); by default it is taken now.
    Returns {"json": path[, "md": path]}."""
    meta = run_metadata(command) if metadata is None else metadata
    doc = {"name": name, "metadata": meta, "config": config, **payload}
    if not _primary():  # every process computed the same figures; process 0 writes them
        paths = {"json": os.path.join(out_dir, f"{name}.json")}
        return paths if markdown is None else {**paths, "md": os.path.join(out_dir, f"{name}.md")}
    paths = {"json": write_json(os.path.join(out_dir, f"{name}.json"), doc)}
    if markdown is not None:
        git = meta["git"]
        state = "unknown" if git["commit"] is None else f"{git['commit'][:12]}{' (dirty)' if git['dirty'] else ''}"
        md_path = os.path.join(out_dir, f"{name}.md")
        with open(md_path, "w") as f:
            f.write(f"# {name}\n\nMade by:\n\n```\n{meta['command']}\n```\n\n")
            f.write(f"git commit {state}, JAX {meta['versions']['jax']}, devices {meta['devices']}, {meta['cpu_count']} CPUs.\n\n")
            f.write(markdown.rstrip() + "\n")
        paths["md"] = md_path
    return paths

"""mkdocs hooks: the experiment pages show the figures their runs wrote to `results/`.

`on_files` adds every `results/*.png` to the site (at `results/NAME.png`), and
`on_page_markdown` appends, to each page that includes a results table by snippet
(`--8<-- "results/NAME.md"`), the PNGs whose names start with NAME: figures come from the runs,
never copied by hand.
"""

from __future__ import annotations

import glob
import os
import re

from mkdocs.structure.files import File

_SNIPPET = re.compile(r'--8<-- "results/([\w.-]+)\.md"')


def _root(config) -> str:
    return os.path.dirname(os.path.abspath(config["config_file_path"]))


def on_files(files, config):
    root = _root(config)
    for path in sorted(glob.glob(os.path.join(root, "results", "*.png"))):
        files.append(File(os.path.relpath(path, root), src_dir=root, dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    names = _SNIPPET.findall(markdown)
    if not names:
        return markdown
    root = _root(config)
    figures = []
    for name in names:
        for path in sorted(glob.glob(os.path.join(root, "results", f"{name}*.png"))):
            rel = os.path.relpath(path, root)
            figures.append(f"![{os.path.basename(path)}](../{rel})\n\n*{rel}*\n")
    if figures:
        markdown += "\n\n## Figures\n\n" + "\n".join(figures)
    return markdown

"""The README's "Use" section runs as written: a user-written score_fn and a user-written
sampler, each through `sg.sample`."""

import pathlib
import re
import runpy

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _use_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("\n## Use", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_use_section_runs(tmp_path, capsys):
    blocks = _use_blocks()
    assert blocks, "the README's Use section has no python block"
    script = tmp_path / "use.py"
    script.write_text("\n".join(blocks))
    ns = runpy.run_path(str(script))
    # the user's score and sampler both reached the exact p_eps (W1 printed on each line)
    lines = [line.split() for line in capsys.readouterr().out.strip().splitlines()]
    assert [int(line[0]) for line in lines[:2]] == [400, 500]
    assert all(float(line[1]) < 0.15 for line in lines[:2]), lines  # exact samples: ≈ 0.07 at n = 10k
    assert ns["x"].shape == (10_000, 1)
    # likelihood: the ODE's log p equals the exact log-density (the prior is within 1e-4 of p_T)
    assert float(lines[2][0]) < 0.05, lines[2]
    # functional: the recovered spectrum, off by the prior's 1/T = 5 % (plus sampling error)
    assert abs(float(lines[3][0]) - 1.05) < 0.03, lines[3]
    # BSDE-Gen: 256 two-dimensional samples and a finite MMD²
    assert ns["y_T"].shape == (256, 2) and float(lines[4][-1]) >= 0.0

"""Mixed precision against float32 on the toy score model (issue 13).

`python -m experiments.mixed_precision` trains `experiments.toy_train`'s time-conditioned MLP
on the 8-Gaussian ring twice from the same seed, float32 and mixed (float32 parameters and
optimizer, bfloat16 layers: `TimeMLP(dtype=jnp.bfloat16)`), with everything else equal, then
compares the loss curves (mean over windows of the log) and the samples' sliced W1 to the
exact ring.  Each run resumes from its checkpoints (`checkpoints/toy_train_precision_*`).
Writes results/mixed_precision.json/.md and the two curves in results/mixed_precision.png.
On this CPU bfloat16 is emulated, so the wall times say nothing about GPU speed.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from experiments import toy_train
from experiments._cli import parse_config, start_metadata
from sdegen_jax import plots
from sdegen_jax.train import read_log
from sdegen_jax.results import markdown_table, write_results

NAME = "mixed_precision"


@dataclasses.dataclass
class Config:
    num_steps: int = 4000
    window: int = 500  # steps per window of the loss comparison
    checkpoint_root: str = "checkpoints"
    out_dir: str = "results"
    progress: bool = False
    quick: bool = False

    @classmethod
    def quick_overrides(cls):
        return dict(num_steps=60, window=30)


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata(NAME, argv)
    runs = {}
    for precision in ("fp32", "bf16"):
        tag = f"toy_train_precision_{precision}" + ("_quick" if cfg.quick else "")
        args = ["--precision", precision, "--tag", tag, "--num-steps", str(cfg.num_steps), "--out-dir", cfg.out_dir,
                "--checkpoint-dir", os.path.join(cfg.checkpoint_root, tag)]
        args += ["--quick", "--samplers", "euler_maruyama", "--num-samples", "500", "--sample-steps", "20"] if cfg.quick else []
        args += [] if cfg.progress else ["--no-progress"]
        runs[precision] = toy_train.main(args)
    rows, series = [], {}
    for precision, res in runs.items():
        steps, losses = np.array([s for s, _ in res["losses"]]), np.array([v for _, v in res["losses"]])
        series[precision] = (steps, losses)
        windows = {f"loss_{int(lo)}_{int(lo + cfg.window)}": float(losses[(steps > lo) & (steps <= lo + cfg.window)].mean())
                   for lo in range(0, cfg.num_steps, cfg.window)}
        w1 = {r["method"]: r.get("sliced_w1") for r in res["samplers"]}
        nfe = {r["method"]: r["nfe"] for r in res["samplers"]}
        log = read_log(os.path.join(cfg.out_dir, f"toy_train_precision_{precision}{'_quick' if cfg.quick else ''}_log.jsonl"))
        rates = [r["img_per_s"] for r in log[1:] or log]
        rows.append(dict(precision=precision, final_window_loss=list(windows.values())[-1],
                         w1_em=w1.get("euler_maruyama"), w1_ode=w1.get("ode"), ode_nfe=nfe.get("ode"),
                         median_img_s=float(np.median(rates)) if rates else None, **windows))
    ratio = rows[1]["final_window_loss"] / rows[0]["final_window_loss"]
    curve = os.path.join(cfg.out_dir, f"{NAME}{'_quick' if cfg.quick else ''}.png")
    plots.line_figure(None, series, xlabel="step", ylabel="DSM loss", logy=True, filename=curve,
                      title="toy_train: float32 against bfloat16 layers")
    cols = [("precision", "precision", ""), ("final_window_loss", f"mean loss, last {cfg.window} steps", ".4f"),
            ("w1_em", "sliced W1 (EM)", ".4f"), ("w1_ode", "sliced W1 (ODE)", ".4f"), ("ode_nfe", "ODE NFE", "d"),
            ("median_img_s", "training img/s (median; bf16 emulated on CPU)", ".0f")]
    md = (f"Same seed, data and optimizer; {cfg.num_steps} steps.  Mixed / float32 mean loss over the last "
          f"{cfg.window} steps: {ratio:.4f}.  Curves: `{os.path.basename(curve)}`.\n\n" + markdown_table(rows, cols))
    paths = write_results(cfg.out_dir, NAME + ("_quick" if cfg.quick else ""), {"rows": rows, "loss_ratio_last_window": ratio,
                          "figures": [curve]}, config=dataclasses.asdict(cfg), markdown=md, metadata=meta)
    print(md, paths, flush=True)
    return {"rows": rows, "ratio": ratio, "paths": paths, "figures": [curve]}


if __name__ == "__main__":
    main()

"""Song's score-based tutorial ScoreNet in PyTorch: the network users would train instead.

    python -m benchmarks.peers.torch_scorenet            # train and forward img/s at batch 64
    python -m benchmarks.peers.torch_scorenet --batch 128 --reps 20

The same network as `sdegen_jax/nets/scorenet.py` (seed 000 §5.2.1, the tutorial's
`ScoreNet`), layer for layer, in NCHW:

  embed = swish(Linear(256→256)(GaussianFourierProjection(256, scale 30)(t)))
  h1 = swish(GN4 (Conv3×3 s1 (x)  → 32,  no bias) + Dense(embed))      28 → 26
  h2 = swish(GN32(Conv3×3 s2 (h1) → 64,  no bias) + Dense(embed))      26 → 12
  h3 = swish(GN32(Conv3×3 s2 (h2) → 128, no bias) + Dense(embed))      12 → 5
  h4 = swish(GN32(Conv3×3 s2 (h3) → 256, no bias) + Dense(embed))       5 → 2
  h  = swish(GN32(ConvT3×3 s2 (h4)            → 128, no bias) + Dense)  2 → 5
  h  = swish(GN32(ConvT3×3 s2 op1 ([h, h3])   → 64,  no bias) + Dense)  5 → 12
  h  = swish(GN32(ConvT3×3 s2 op1 ([h, h2])   → 32,  no bias) + Dense) 12 → 26
  out = ConvT3×3 s1 ([h, h1]) → 1 (with bias) / std(t)                 26 → 28

(GN(· + Dense) adds the Dense(embed) output, broadcast over space, before the GroupNorm;
op1 is output_padding=1; no padding anywhere; GroupNorm eps 1e-5, PyTorch's default.)
W of the Fourier projection is an `nn.Parameter(requires_grad=False)` as in the tutorial,
so `parameters()` counts it: 1,115,297 trainable + 128 = 1,115,425 (`NUM_PARAMS`).
swish is `F.silu` (x·sigmoid(x), the tutorial's lambda, as one op).

std(t) is the marginal std of the tutorial's VE SDE dx = σ^t dw, σ = 25:
std(t) = sqrt((σ^{2t} − 1) / (2 log σ)).

`make_train_step` / `make_forward` time what `benchmarks/train_throughput.py` times for the
JAX ScoreNet: one Adam step (lr 1e-3) of the tutorial's denoising score-matching loss on a
fixed random batch, and a no-grad forward.  Threads: torch's default (`torch_info()`; 2 on
the 2-core machine, OpenMP, oneDNN available).

Measured on the project's 2-core CPU, torch 2.13.0+cpu, 2 threads, batch 64, quiet machine
(load < 1): train best 844 img/s (75.9 ms, 151 ms CPU: both cores busy), median 782;
forward best 2,816 img/s (22.7 ms), median 2,260.  The tutorial's `x * sigmoid(x)` instead
of `F.silu`: 812 / 2,730 img/s best.  Under contention torch's 2-thread OpenMP team
collapses: with another process busy on the CPUs a train step took about 2 s (CPU time ≈
wall time, one thread's worth), against 0.2 s with `torch.set_num_threads(1)` at the same
time.  Time it only interleaved with what it is compared to, and read best figures.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_PARAMS = 1_115_425
SIGMA = 25.0
EPS = 1e-5
LR = 1e-3


def marginal_prob_std(t: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """std(t) = sqrt((σ^{2t} − 1) / (2 log σ)) of dx = σ^t dw (seed 000 §5.2.1)."""
    return torch.sqrt((sigma ** (2.0 * t) - 1.0) / (2.0 * math.log(sigma)))


class GaussianFourierProjection(nn.Module):
    """t (N,) → [sin(2π t W), cos(2π t W)] (N, embed_dim), W ~ N(0, scale²) fixed."""

    def __init__(self, embed_dim: int = 256, scale: float = 30.0):
        super().__init__()
        self.W = nn.Parameter(torch.randn(embed_dim // 2) * scale, requires_grad=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        proj = t[:, None] * self.W[None, :] * (2.0 * math.pi)
        return torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1)


class Dense(nn.Module):
    """Linear(embed) reshaped to (N, C, 1, 1), to add to a feature map."""

    def __init__(self, input_dim: int, output_dim: int):
        super().__init__()
        self.dense = nn.Linear(input_dim, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x)[..., None, None]


class ScoreNet(nn.Module):
    """The tutorial's ScoreNet; `forward(x (N,1,28,28), t (N,)) -> score (N,1,28,28)`."""

    def __init__(
        self,
        marginal_std: Callable[[torch.Tensor], torch.Tensor] = marginal_prob_std,
        channels: Sequence[int] = (32, 64, 128, 256),
        embed_dim: int = 256,
    ):
        super().__init__()
        c = tuple(channels)
        self.embed = nn.Sequential(GaussianFourierProjection(embed_dim), nn.Linear(embed_dim, embed_dim))
        self.conv1 = nn.Conv2d(1, c[0], 3, stride=1, bias=False)
        self.dense1 = Dense(embed_dim, c[0])
        self.gnorm1 = nn.GroupNorm(4, num_channels=c[0])
        self.conv2 = nn.Conv2d(c[0], c[1], 3, stride=2, bias=False)
        self.dense2 = Dense(embed_dim, c[1])
        self.gnorm2 = nn.GroupNorm(32, num_channels=c[1])
        self.conv3 = nn.Conv2d(c[1], c[2], 3, stride=2, bias=False)
        self.dense3 = Dense(embed_dim, c[2])
        self.gnorm3 = nn.GroupNorm(32, num_channels=c[2])
        self.conv4 = nn.Conv2d(c[2], c[3], 3, stride=2, bias=False)
        self.dense4 = Dense(embed_dim, c[3])
        self.gnorm4 = nn.GroupNorm(32, num_channels=c[3])

        self.tconv4 = nn.ConvTranspose2d(c[3], c[2], 3, stride=2, bias=False)
        self.dense5 = Dense(embed_dim, c[2])
        self.tgnorm4 = nn.GroupNorm(32, num_channels=c[2])
        self.tconv3 = nn.ConvTranspose2d(c[2] + c[2], c[1], 3, stride=2, bias=False, output_padding=1)
        self.dense6 = Dense(embed_dim, c[1])
        self.tgnorm3 = nn.GroupNorm(32, num_channels=c[1])
        self.tconv2 = nn.ConvTranspose2d(c[1] + c[1], c[0], 3, stride=2, bias=False, output_padding=1)
        self.dense7 = Dense(embed_dim, c[0])
        self.tgnorm2 = nn.GroupNorm(32, num_channels=c[0])
        self.tconv1 = nn.ConvTranspose2d(c[0] + c[0], 1, 3, stride=1)
        self.marginal_std = marginal_std

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        act = F.silu
        embed = act(self.embed(t))
        # Encoder.
        h1 = act(self.gnorm1(self.conv1(x) + self.dense1(embed)))
        h2 = act(self.gnorm2(self.conv2(h1) + self.dense2(embed)))
        h3 = act(self.gnorm3(self.conv3(h2) + self.dense3(embed)))
        h4 = act(self.gnorm4(self.conv4(h3) + self.dense4(embed)))
        # Decoder with skip connections.
        h = act(self.tgnorm4(self.tconv4(h4) + self.dense5(embed)))
        h = act(self.tgnorm3(self.tconv3(torch.cat([h, h3], dim=1)) + self.dense6(embed)))
        h = act(self.tgnorm2(self.tconv2(torch.cat([h, h2], dim=1)) + self.dense7(embed)))
        h = self.tconv1(torch.cat([h, h1], dim=1))
        return h / self.marginal_std(t)[:, None, None, None]


def count_params(model: nn.Module) -> int:
    """All entries of `model.parameters()`, trainable or not (the tutorial's count)."""
    return sum(p.numel() for p in model.parameters())


def make_model(seed: int = 0) -> ScoreNet:
    """ScoreNet initialised from `seed` (PyTorch's default initialisers) without touching
    the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ScoreNet()


def _batch(batch: int, seed: int) -> tuple[torch.Generator, torch.Tensor]:
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}.")
    gen = torch.Generator().manual_seed(seed + 1)
    return gen, torch.randn(batch, 1, 28, 28, generator=gen, dtype=torch.float32)


def dsm_loss(model: nn.Module, x: torch.Tensor, gen: torch.Generator | None = None, eps: float = EPS) -> torch.Tensor:
    """Denoising score matching of the tutorial: t ~ U[eps, 1], z ~ N(0, I),
    mean over the batch of Σ (std(t)·s(x + std(t)·z, t) + z)²."""
    t = torch.rand(x.shape[0], generator=gen) * (1.0 - eps) + eps
    z = torch.randn(x.shape, generator=gen)
    std = model.marginal_std(t)[:, None, None, None]
    score = model(x + std * z, t)
    return torch.mean(torch.sum((score * std + z) ** 2, dim=(1, 2, 3)))


def make_train_step(batch: int, seed: int = 0) -> Callable[[], float]:
    """One Adam (lr 1e-3) step of `dsm_loss` on a fixed random batch (batch, 1, 28, 28) per
    call: zero_grad, forward, backward, step; returns loss.item() (so the call is
    synchronous).  t and z are fresh each call, from a generator seeded by `seed`."""
    model = make_model(seed)
    model.train()
    gen, x = _batch(batch, seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = dsm_loss(model, x, gen)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def make_forward(batch: int, seed: int = 0) -> Callable[[], None]:
    """s(x, t) on a fixed random batch (batch, 1, 28, 28) and t ~ U[eps, 1], under
    `torch.no_grad()`."""
    model = make_model(seed)
    model.eval()
    gen, x = _batch(batch, seed)
    t = torch.rand(batch, generator=gen) * (1.0 - EPS) + EPS

    def forward() -> None:
        with torch.no_grad():
            model(x, t)

    return forward


def torch_info() -> dict:
    """The torch build and the parallelism it uses."""
    return {
        "torch": torch.__version__,
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "mkl_available": torch.backends.mkl.is_available(),
    }


def _best_time(fn: Callable, warmup: int, reps: int) -> float:
    for _ in range(warmup):
        fn()
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=15, help="timed calls; the best is reported")
    a = p.parse_args(argv)
    info = torch_info()
    print(", ".join(f"{k} {v}" for k, v in info.items()))
    out = {"batch": a.batch, **info}
    for name, make in (("train", make_train_step), ("forward", make_forward)):
        best = _best_time(make(a.batch), a.warmup, a.reps)
        out[f"{name}_img_s"] = a.batch / best
        print(f"{name:8s} batch {a.batch}: {a.batch / best:7.0f} img/s  (best of {a.reps}: {1e3 * best:.1f} ms)")
    return out


if __name__ == "__main__":
    main()

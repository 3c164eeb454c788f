"""Peers: the code users would run instead of this library, for the benchmarks to time in
the same process and run as ours.

  torch_scorenet   Song's tutorial ScoreNet in PyTorch (train step and forward on the CPU).
  diffusionjax_em  diffusionjax's own Euler–Maruyama sampler for the VE SDE.
  kdiffusion_samplers  k-diffusion's Heun and DPM-Solver++ 2M against ours, draw for draw
                   (`pip install --no-deps k-diffusion==0.1.1.post1`: only its sampling.py
                   is loaded, so its training stack is not needed).

They need the optional extra `[peers]` (torch, diffusionjax).  Importing this package
imports neither; import the submodule you need, and skip when its library is absent.
"""

"""Peers: the code users would run instead of this library, for the benchmarks to time in
the same process and run as ours.

  torch_scorenet   Song's tutorial ScoreNet in PyTorch (train step and forward on the CPU).
  diffusionjax_em  diffusionjax's own Euler–Maruyama sampler for the VE SDE.

They need the optional extra `[peers]` (torch, diffusionjax).  Importing this package
imports neither; import the submodule you need, and skip when its library is absent.
"""

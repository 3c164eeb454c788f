"""`python -m sdegen_jax.metrics.inception convert <pth> <npz>` (needs torch) and
`python -m sdegen_jax.metrics.inception check [<npz>]`: make and validate the weights file."""

from __future__ import annotations

import argparse

from .weights import convert_pytorch_weights, default_weights_path, expected_weights, load_inception


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sdegen_jax.metrics.inception", description="Make or validate the FID Inception weights file."
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    conv = sub.add_parser("convert", help="convert pytorch-fid's .pth to the .npz format (needs torch)")
    conv.add_argument("pth")
    conv.add_argument("npz")
    check = sub.add_parser("check", help="validate a weights .npz")
    check.add_argument("npz", nargs="?", default=None)
    args = parser.parse_args(argv)
    if args.cmd == "convert":
        print(f"wrote {convert_pytorch_weights(args.pth, args.npz)}")
    else:
        load_inception(args.npz)
        print(f"{args.npz or default_weights_path()}: valid FID Inception weights ({len(expected_weights())} arrays).")


if __name__ == "__main__":
    main()

"""True Inception FID / IS from a user-supplied weights file (the FID InceptionV3, in Flax NNX).

No JAX Inception implementation works offline: they all download their weights. This package
holds the network (the "FID Inception" of TensorFlow's FID code as ported by pytorch-fid:
InceptionV3 with the 2015-12-05 weights, 1008 logits, and the FID patches — average pools
that ignore padding, a max pool in the last block) and loads the weights from a file that the
user provides.

Weights file (WEIGHTS_FORMAT): an .npz whose arrays are the PyTorch state dict of
pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`, under the same names and layouts, e.g.
"Conv2d_1a_3x3.conv.weight" (out, in, kh, kw), "Conv2d_1a_3x3.bn.running_mean" (32,),
"fc.weight" (1008, 2048). "num_batches_tracked" entries are optional and ignored. Make it once
on a machine with network and PyTorch:

    curl -LO https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
    python -m sdegen_jax.metrics.inception convert pt_inception-2015-12-05-6726825d.pth pt_inception-2015-12-05.npz

and pass its path, or put it at $SDEGEN_INCEPTION_WEIGHTS (default
~/.cache/sdegen_jax/pt_inception-2015-12-05.npz).

    from sdegen_jax.metrics.inception import inception_fid, inception_score
    fid = inception_fid(images_a, images_b, "pt_inception-2015-12-05.npz")  # [0, 1] images, NHWC

Modules: network.py (the NNX network), weights.py (format, loading, conversion), evaluate.py
(preprocessing, FID, IS), __main__.py (the convert/check command).

Preprocessing follows pytorch-fid: grayscale is repeated to RGB, images are resized to 299×299
bilinearly (half-pixel centers, as torch's align_corners=False) and mapped to [−1, 1]; FID uses
the 2048-d pool3 features, IS the softmax of the 1008 logits. Status: the architecture and the
loader are checked structurally (every state-dict name and shape, conv/pool conventions against
direct computations) but could not be compared with pytorch-fid outputs here (no weights, no
PyTorch offline); the first use with real weights should be checked against pytorch-fid on a
few images. Figures from these weights are comparable to pytorch-fid's (which differ slightly
from the original TensorFlow FID through resizing); the MNIST classifier-FID/IS of
`sdegen_jax.metrics` are NOT comparable to any of them.
"""

from .evaluate import inception_fid, inception_outputs, inception_score, preprocess
from .network import (
    INPUT_SIZE,
    NUM_LOGITS,
    POOL3_DIM,
    BasicConv2d,
    FIDInceptionV3,
    InceptionA,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)
from .weights import (
    DEFAULT_WEIGHTS,
    ENV_VAR,
    PTH_NAME,
    PTH_URL,
    WEIGHTS_FORMAT,
    convert_pytorch_weights,
    default_weights_path,
    expected_weights,
    load_inception,
    resolve_inception,
)

__all__ = [
    "inception_fid",
    "inception_score",
    "inception_outputs",
    "preprocess",
    "load_inception",
    "resolve_inception",
    "expected_weights",
    "default_weights_path",
    "convert_pytorch_weights",
    "FIDInceptionV3",
    "BasicConv2d",
    "InceptionA",
    "InceptionB",
    "InceptionC",
    "InceptionD",
    "InceptionE",
    "ENV_VAR",
    "DEFAULT_WEIGHTS",
    "PTH_NAME",
    "PTH_URL",
    "WEIGHTS_FORMAT",
    "POOL3_DIM",
    "NUM_LOGITS",
    "INPUT_SIZE",
]

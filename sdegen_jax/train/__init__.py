"""Training: state, optimizer, sharded step, orbax checkpoints, the loop, and the DSM training
of NNX score networks (`dsm_training`), x0-denoisers (`x0_training`) and BSDE-Gen
(`bsde_training`), and two-player GAN training (`adversarial_training`)."""

from . import distributed
from .adversarial import AdversarialTraining, adversarial_training, make_adversarial_step
from .checkpoint import Checkpointer, abstract_like
from .loop import TrainingDiverged, default_checkpoint_dir, fit, read_log
from .bsde_model import bsde_training
from .optimizer import make_optimizer, make_rmsprop
from .sharding import DATA_AXIS, batch_sharding, make_mesh, replicate, replicated, shard_batch
from .._tree import count_params
from .score_model import ModelTraining, dsm_training, model_training, x0_training
from .state import TrainState
from .step import ema_decay_at, ema_update, make_train_step

__all__ = [
    "distributed",
    "TrainState",
    "dsm_training",
    "x0_training",
    "model_training",
    "ModelTraining",
    "count_params",
    "make_optimizer",
    "make_rmsprop",
    "bsde_training",
    "adversarial_training",
    "AdversarialTraining",
    "make_adversarial_step",
    "make_train_step",
    "ema_update",
    "ema_decay_at",
    "make_mesh",
    "batch_sharding",
    "replicated",
    "replicate",
    "shard_batch",
    "DATA_AXIS",
    "Checkpointer",
    "abstract_like",
    "fit",
    "read_log",
    "TrainingDiverged",
    "default_checkpoint_dir",
]

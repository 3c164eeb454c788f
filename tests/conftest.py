import os

import pytest

# Tests run on the CPU; multi-device tests start their own subprocesses with
# JAX_NUM_CPU_DEVICES set before JAX starts.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("EQX_ON_ERROR", "raise")

# Scheduling only: the modules whose tests take the longest (experiment quick runs,
# multi-process and multi-device subprocesses, GAN training) are collected first, so that
# under `pytest -n 2` the two workers start on them and the many short tests fill in at the
# end, instead of one worker finishing a long test alone.  Order within a module is kept.
HEAVY_FIRST = (
    "test_distributed", "test_bsde_experiments", "test_likelihood_experiments", "test_functional_bench",
    "test_experiments", "test_compare_models", "test_multidevice", "test_classic_gan_training",
)


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        module = item.nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
        return HEAVY_FIRST.index(module) if module in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=rank)  # stable: the order inside each group is unchanged


@pytest.fixture(scope="session")
def subprocess_compilation_cache(tmp_path_factory):
    """Environment variables that give the `python -m experiments...` subprocesses of one test
    worker a shared persistent compilation cache (JAX keys entries on the computation, compile
    options and devices).  Only for the subprocess tests: each process would otherwise compile
    the same training step and eager ops again (test_distributed + test_multidevice under
    `-n 2`: 152 s without, 119 s with).  Suite-wide it did not pay: a clean-clone run took
    1629 s with it for every test, 1504 s without it later the same day."""
    path = tmp_path_factory.mktemp("jax_compilation_cache")
    return {"JAX_COMPILATION_CACHE_DIR": str(path), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}

import os

# Tests run on the CPU; multi-device tests start their own subprocesses with
# JAX_NUM_CPU_DEVICES set before JAX starts.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("EQX_ON_ERROR", "raise")

# JAX's persistent compilation cache, shared by the xdist workers and the subprocesses they
# start (the environment is inherited): the many runs of the same training step and
# eager ops (the multi-device and multi-process tests start `experiments.toy_train` nine
# times; every experiment's quick run builds the same classifier) compile once per suite.
# Keyed by JAX on the computation, compile options and devices, so a stale entry is never
# used.  Under .pytest_cache/ (git-ignored); a clean clone starts empty.
# SDEGEN_TEST_COMPILATION_CACHE=0 turns it off.
if os.environ.get("SDEGEN_TEST_COMPILATION_CACHE", "1") != "0":
    _cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".pytest_cache", "jax_compilation")
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

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

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
    "test_likelihood_experiments", "test_compare_models", "test_bsde_experiments", "test_distributed",
    "test_functional_bench", "test_experiments", "test_benchmarks_train", "test_readme", "test_multidevice",
    "test_benchmarks", "test_classic_gan_training",
)


def _dist_chosen(config) -> bool:
    args = [*config.invocation_params.args, *os.environ.get("PYTEST_ADDOPTS", "").split()]
    return any(a in ("--dist", "-d", "--distload") or a.startswith("--dist=") for a in args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Scheduling only: under `pytest -n N` (xdist's default `--dist load`), hand out tests one at
    a time in the order above (`loadgroup` without its reordering), instead of `load`'s first
    chunks of a quarter of each worker's share (worker 0's first chunk held every heavy module).
    Tests that share an expensive module fixture carry `xdist_group` marks, so the fixture runs
    once.  An explicit `--dist` is left alone."""
    if getattr(config.option, "dist", "no") == "load" and not _dist_chosen(config):
        config.option.dist = "loadgroup"
        config.option.loadscopereorder = False
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("sdegen_loadgroup"):
        # a worker parses the command line again, so it would not suffix the group names
        config.option.loadgroup = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(xdist, on the controller) tells each worker that the groups are on."""
    if node.config.option.dist == "loadgroup":
        node.workerinput["sdegen_loadgroup"] = True


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

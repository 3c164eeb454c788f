import os

# Tests run on the CPU; multi-device tests start their own subprocesses with
# JAX_NUM_CPU_DEVICES set before JAX starts.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("EQX_ON_ERROR", "raise")

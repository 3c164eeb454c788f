"""Every public module declares its surface in `__all__`, and every name there exists."""

import importlib
import pathlib

import pytest

import sdegen_jax

ROOT = pathlib.Path(sdegen_jax.__file__).parent
MODULES = sorted(
    ".".join(("sdegen_jax", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for p in ROOT.rglob("*.py")
    if not any(part.startswith("_") and part != "__init__.py" for part in p.relative_to(ROOT).parts)
)


@pytest.mark.parametrize("name", MODULES)
def test_module_declares_all(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{name}.__all__ repeats a name"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names {missing}, which it does not define"

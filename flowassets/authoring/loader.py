"""Load a flow class from a Python file, as ``python flow.py run`` would see it.

The file is imported under its own module name (not ``__main__``), so the ``MyFlow()`` call
that ends Metaflow-style files does not start a second CLI inside ours.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from ..errors import FlowassetsError
from .flow_classes import flow_class_of, is_flow_class


def import_file(path: str, fresh: bool = False) -> ModuleType:
    """``fresh``: import the file again even if this process did already (the Runner checks a
    file the user may have edited since, in a long-lived notebook process)."""
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise FlowassetsError(f"flow file {path} does not exist.")
    name = "flowassets_user_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    if not fresh and name in sys.modules and getattr(sys.modules[name], "__file__", None) == path:
        return sys.modules[name]
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FlowassetsError(f"{path} is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def flow_classes(module: ModuleType) -> list[type]:
    found = (flow_class_of(obj) for obj in vars(module).values())
    return list(dict.fromkeys(
        obj for obj in found if is_flow_class(obj) and obj.__module__ == module.__name__))


def load_flow_class(path: str, name: str | None = None, fresh: bool = False) -> type:
    module = import_file(path, fresh)
    classes = flow_classes(module)
    if name is not None:
        for cls in classes:
            if cls.__name__ == name:
                return cls
        raise FlowassetsError(f"{path} defines no flow named {name!r}; it defines "
                              f"{[c.__name__ for c in classes]}.")
    if not classes:
        raise FlowassetsError(f"{path} defines no FlowSpec subclass.")
    # A base class the file's flow extends (a shared FlowMutator, common steps) is not a
    # candidate: Metaflow runs the class instantiated under __main__, which is the subclass.
    leaves = [c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)]
    if len(leaves) == 1:
        return leaves[0]
    if len(classes) > 1:
        raise FlowassetsError(f"{path} defines several flows {[c.__name__ for c in classes]}; "
                              "pick one with --flow NAME.")
    return classes[0]

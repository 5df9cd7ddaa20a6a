"""Where a flow class's source is, also when ``inspect`` cannot say.

``inspect.getsource(cls)`` finds a class through its module's file in ``sys.modules``. A class
defined in a notebook cell (module ``__main__``, which has no file there) or in a module executed
without a ``sys.modules`` entry (``importlib.util.module_from_spec`` + ``exec_module``) has none,
yet the functions in its body still know where they were written: ``co_filename`` and
``co_firstlineno`` of their code objects, and ``linecache`` keeps an IPython/Jupyter cell's text
under its cell name. So the class statement is found there, as Metaflow's graph finds each
step's source through the step function.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import os
from dataclasses import dataclass
from typing import Any, Iterator


@dataclass(frozen=True)
class ClassSource:
    """The text of one ``class`` statement (its decorators included) and where it is."""

    lines: tuple[str, ...]
    start: int  # line number of its first line in ``file``
    file: str  # a path, or a name linecache knows (a notebook cell: "<ipython-input-3-...>")


def class_source(klass: type) -> ClassSource | None:
    """The class statement of ``klass``, or None when neither inspect nor its functions know it."""
    try:
        lines, start = inspect.getsourcelines(klass)
        file = inspect.getsourcefile(klass) or inspect.getfile(klass)
        return ClassSource(tuple(lines), start, file)
    except (OSError, TypeError):
        return _from_functions(klass)


def flow_file(cls: type) -> str | None:
    """A ``.py`` file that defines ``cls`` when imported again: what a task pod, a Dagster step
    worker or ``flowassets run`` loads. None for a class defined in a notebook cell or a REPL,
    which exists only in the process that ran the cell."""
    try:
        return inspect.getsourcefile(cls)
    except (OSError, TypeError):
        pass
    if cls.__module__ == "__main__":
        # A notebook cell or REPL: Jupyter may even dump the cell to a file for its debugger, but
        # that file is one cell, not a module that defines the flow with its imports.
        return None
    found = _from_functions(cls)
    if found is not None and found.file.endswith(".py") and os.path.isfile(found.file):
        return found.file
    return None


def _from_functions(klass: type) -> ClassSource | None:
    for filename, first_line in _code_locations(klass):
        linecache.checkcache(filename)  # a file edited since: re-read (cells are never stale)
        text = linecache.getlines(filename)
        if not text:
            continue
        try:
            tree = ast.parse("".join(text))
        except SyntaxError:
            continue
        best: ast.ClassDef | None = None
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == klass.__name__ \
                    and _top(node) <= first_line <= (node.end_lineno or node.lineno):
                if best is None or _top(node) >= _top(best):  # the innermost one
                    best = node
        if best is not None:
            return ClassSource(tuple(text[_top(best) - 1:best.end_lineno]), _top(best), filename)
    return None


def _top(node: ast.ClassDef) -> int:
    return min([d.lineno for d in node.decorator_list] + [node.lineno])


def _code_locations(klass: type) -> Iterator[tuple[str, int]]:
    """(file, first line) of each function written in the class body, decorators unwrapped."""
    for value in vars(klass).values():
        func: Any = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if isinstance(func, property):
            func = func.fget
        if not callable(func):
            continue
        try:
            code = inspect.unwrap(func).__code__
        except (AttributeError, ValueError):
            continue
        yield code.co_filename, code.co_firstlineno


__all__ = ["ClassSource", "class_source", "flow_file"]

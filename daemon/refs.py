"""A function named ``"module:function"`` and imported at its first call.

The registry (``daemon/workflows.py``) names every handler, step and status
section so, and a workflow's ``due`` names its steps' bodies so: ``klg status``
and a ``klg tick`` with nothing due then import what asks "is it due" and
never what does the work (start-up, issue 19). A name points to a module on
the caller's own floor or below, so the layers the import graph checks hold.
"""

from __future__ import annotations

import importlib


class Ref:
    """The function ``"module:function"``, imported at its first call."""

    __slots__ = ("_function", "name")

    def __init__(self, name: str):
        self.name = name
        self._function = None

    def resolve(self):
        if self._function is None:
            module, _, attr = self.name.partition(":")
            self._function = getattr(importlib.import_module(module), attr)
        return self._function

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Ref({self.name!r})"

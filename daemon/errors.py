"""Errors that any layer may raise and the command line turns into an exit status.

Base layer: imports nothing of klg's, so a command handler anywhere (``klg log``
in ``audit.py``, ``klg demo``) can refuse its arguments without importing the
command line that called it.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments: the command line prints the message and exits 2."""

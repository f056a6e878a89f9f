"""klg: the clerk of a municipal management group, living in a shared mailbox.

The package is split by concept: ``config`` (the operator's contract),
``store`` (SQLite state and files), ``mail`` (parsing, composing and the
mailbox/transport backends), ``schedule`` (when meetings and steps happen),
the workflows (``proposals``, ``agenda``, ``circulation``, ``minutes``) and the
edges that drive them (``engine``, ``cli``).
"""

__version__ = "0.1.0"

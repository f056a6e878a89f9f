"""``python -m daemon`` is the same as the ``klg`` command."""

import sys

from daemon.cli import main

sys.exit(main())

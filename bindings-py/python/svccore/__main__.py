"""``python -m svccore``: the ``svccore`` command."""

import sys

from svccore.cli import main

if __name__ == "__main__":
    sys.exit(main())

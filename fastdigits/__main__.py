"""``python -m fastdigits``: the command line (see :mod:`fastdigits.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":  # importing this module (e.g. doctest collection) runs nothing
    sys.exit(main())

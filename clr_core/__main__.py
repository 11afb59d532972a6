"""Entry point of `python -m clr_core`."""

import sys

from clr_core.cli import main

sys.exit(main())

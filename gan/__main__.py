"""Entry point for `python -m gan`."""

import sys

from gan.cli import main

sys.exit(main())

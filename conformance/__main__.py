"""`python -m conformance`: run the SDK's binding tests against pyflare (see `runner.py`)."""

import sys

from .runner import main

sys.exit(main())

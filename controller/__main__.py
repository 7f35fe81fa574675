"""`python -m controller` is `cleanroom`."""

import sys

from controller.cli import main

sys.exit(main())

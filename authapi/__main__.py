"""Allow `python -m authapi`."""

import sys

from authapi.cli import main

sys.exit(main())

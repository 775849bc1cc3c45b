"""Allow `python -m authapi`."""

import sys

from authapi.web.cli import main

sys.exit(main())

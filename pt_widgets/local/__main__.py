"""``python -m pt_widgets.local serve``."""

import sys

from .cli import main

sys.exit(main())

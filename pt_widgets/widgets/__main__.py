"""``python -m pt_widgets.widgets``: the same as ``pt-widgets lab``."""

import sys

from .launch import main

sys.exit(main())

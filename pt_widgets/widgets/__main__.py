"""``python -m pt_widgets.widgets``: the local workspace + JupyterLab with the quickstart."""

import sys

from .launch import main

sys.exit(main())

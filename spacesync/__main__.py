"""``python -m spacesync``: the same as the ``spacesync`` command."""

import sys

from spacesync.cli.main import main

sys.exit(main())

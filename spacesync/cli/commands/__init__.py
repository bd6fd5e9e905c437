"""One module per verb; ``ALL`` is the order they appear in ``spacesync --help``."""

from spacesync.cli.commands import bucket, cat, cp, local, ls, presign

ALL = (ls, cp, cat, bucket, presign, local)

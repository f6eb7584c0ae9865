"""``python -m auth0_webhooks.ops <command>``: the same as ``auth0-webhooks <command>``."""

import sys

from .cli import main

sys.exit(main())

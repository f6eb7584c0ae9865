"""``auth0-webhooks <command>``: the one command that runs every operator tool.

A command is a module with ``SUMMARY`` (one line for ``--help``) and
``main(argv, prog=...) -> int`` (its own parsing and exit code). Adding one is a module
and a line in :data:`COMMANDS`; it is imported only when it runs.

>>> sorted(COMMANDS)
['doctor', 'preview', 'redrive', 'replay', 'routes', 'status', 'test-event']
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

PROG = "auth0-webhooks"
COMMANDS: dict[str, str] = {  # command → the module that runs it
    "doctor": "auth0_webhooks.ops.doctor_command",
    "preview": "auth0_webhooks.ops.preview_command",
    "redrive": "auth0_webhooks.ops.redrive_command",
    "replay": "auth0_webhooks.ops.replay_command",
    "routes": "auth0_webhooks.ops.routes_command",
    "status": "auth0_webhooks.ops.status_command",
    "test-event": "auth0_webhooks.ops.sample_event_command",
}


def _parser() -> argparse.ArgumentParser:
    lines = [f"  {name:<10} {importlib.import_module(module).SUMMARY}" for name, module in COMMANDS.items()]
    return argparse.ArgumentParser(
        prog=PROG,
        description="Operator tools for an auth0-webhooks stack or configuration.",
        epilog="commands:\n" + "\n".join(lines) + f"\n\n`{PROG} <command> --help` shows a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``argv[0]`` with the rest of ``argv``; ``--help`` (or no command) lists the commands."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        parser = _parser()
        parser.add_argument("command", choices=sorted(COMMANDS), help="one of the commands below")
        parser.parse_args(args[:1])  # prints the help, or names the commands allowed, and exits
        return 2
    module = importlib.import_module(COMMANDS[args[0]])
    code: int = module.main(args[1:], prog=f"{PROG} {args[0]}")
    return code

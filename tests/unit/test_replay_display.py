"""The replay's progress without a terminal: a plain line every few pages, never a progress bar."""

from __future__ import annotations

import io
import subprocess
import sys

from auth0_webhooks.ops.replay import ReplayState
from auth0_webhooks.ops.replay_command import PLAIN_EVERY_PAGES, Display


def test_without_a_terminal_a_plain_line_every_few_pages():
    out = io.StringIO()
    with Display(out, "replaying").shown() as display:
        for page in range(1, 2 * PLAIN_EVERY_PAGES + 1):
            display(ReplayState(cursor="900", read=page * 100, sent=page * 90), page / 40)

    assert out.getvalue().splitlines() == [
        "replaying: 25% of the window, 1000 logs read, 900 sent",
        "replaying: 50% of the window, 2000 logs read, 1800 sent",
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_terminal_a_progress_bar_with_logs_read_and_sent():
    out = Terminal()
    with Display(out, "replaying").shown() as display:
        display(ReplayState(cursor="900", read=1234, sent=1200), 0.5)

    text = out.getvalue()
    assert "replaying" in text and "1234 read, 1200 sent" in text and "50%" in text


def test_the_functions_and_the_library_never_import_rich():
    imports = "import functions.poller.app, functions.deliverer.app, auth0_webhooks.ops.replay"
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}; import sys; print('rich' in sys.modules)"],
        check=False,
        capture_output=True,
        text=True,
    )

    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr

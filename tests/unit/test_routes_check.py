"""`auth0-webhooks routes check`: the shipped example passes, every error at once, exit codes 0, 1 and 2.

The commands run as a user runs them (a subprocess from the repository's root), except where a test
needs the report's parts (then `check_file`, the command's core).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from auth0_webhooks.routes.check import NO_ROUTES, check_file
from auth0_webhooks.routes.validate import Problem

from tests.conftest import ROOT

SHIPPED = ROOT / "config" / "routes.yaml"
BAD = """\
routes:
  - id: siem
    colour: red
    match: {categories: [auth.login.fail, logins]}
    destination: {type: webhook, url: "http://siem.example/in", headers: {Authorization: x}}
  - id: siem
    destination: {type: eventbridge, bus: b}
  - id: events
    destination: {type: eventbridge}
"""
GOOD = "routes:\n  - id: bus\n    destination: {type: eventbridge, bus: auth0}\n"


def routes(*args: str, cwd: Path = ROOT, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ROUTES_FILE", "STACK_NAME")} | environ
    return subprocess.run(
        [sys.executable, "-m", "auth0_webhooks.ops", "routes", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def uncommented(text: str) -> str:
    """The example a fully commented routes file holds: from its first commented `version:` or
    `routes:` line on, each line with one `# ` (or a lone `#`) taken off; the prose above is dropped."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"#\s?(version|routes):", line))
    return "\n".join(re.sub(r"^# ?", "", line) for line in lines[start:]) + "\n"


def shipped_examples(tmp_path: Path) -> list[Path]:
    """The shipped file, and its uncommented example when it holds only comments."""
    text = SHIPPED.read_text()
    if not only_comments(text):
        return [SHIPPED]
    example = tmp_path / "routes.example.yaml"
    example.write_text(uncommented(text))
    return [SHIPPED, example]


def test_the_shipped_routes_file_passes_through_the_command(tmp_path: Path):
    for path in shipped_examples(tmp_path):
        result = routes("check", str(path), "--stack", "auth0-webhooks")

        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith(f"{path}: OK, ")
        assert "error:" not in result.stdout and "warning:" not in result.stdout
    if len(shipped_examples(tmp_path)) == 2:  # the commented example holds routes that pass
        assert re.search(r": OK, [1-9]\d* routes?\n", routes("check", str(shipped_examples(tmp_path)[1])).stdout)


def test_uncommenting_gives_back_the_example_it_was_made_from(tmp_path: Path):
    example = tmp_path / "example.yaml"
    commented = "".join(f"# {line}\n" if line else "#\n" for line in GOOD.split("\n"))
    example.write_text("# about this file\n#\n" + commented)
    assert only_comments(example.read_text())
    (tmp_path / "back.yaml").write_text(uncommented(example.read_text()))

    assert [route.id for route in check_file(tmp_path / "back.yaml").routes] == ["bus"]


def test_every_error_at_once_each_naming_route_field_and_what_is_allowed(tmp_path: Path):
    (tmp_path / "routes.yaml").write_text(BAD)

    result = routes("check", str(tmp_path / "routes.yaml"))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{tmp_path / 'routes.yaml'}: 6 errors"
    categories = next(line for line in lines if "match.categories[1]" in line)
    assert sorted(lines[1:]) == sorted(
        [
            "  error: route siem: colour: unknown field; allowed: description, destination, id, match, pii",
            categories,
            "  error: route siem: destination.url: must be an https:// URL (http:// only with allow_insecure: true, "
            "for local runs); got 'http://siem.example/in'",
            "  error: route siem: destination.headers.Authorization: is set by the deliverer itself; "
            "use another header",
            "  error: route events: destination.bus: is required",
            "  error: route siem: id: is also the id of route #1; ids must be unique",
        ]
    )
    assert categories.startswith("  error: route siem: match.categories[1]: unknown category 'logins'; allowed: ")
    assert "auth.login.fail" in categories and "Traceback" not in result.stderr


def test_json_gives_each_problem_its_route_field_and_message(tmp_path: Path):
    (tmp_path / "routes.yaml").write_text(BAD)

    bad = routes("check", str(tmp_path / "routes.yaml"), "--json")
    good = routes("check", str(SHIPPED), "--json")

    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["routes"] == [] and report["warnings"] == []
    assert report["errors"][0] == {
        "route": "siem",
        "field": "colour",
        "message": "unknown field; allowed: description, destination, id, match, pii",
    }
    assert len(report["errors"]) == 6
    assert good.returncode == 0
    shipped = json.loads(good.stdout)
    assert shipped["ok"] is True and shipped["errors"] == [] and shipped["file"] == str(SHIPPED)
    assert [r["id"] for r in shipped["routes"]] == [r.id for r in check_file(SHIPPED).routes]


def test_secrets_outside_the_stacks_prefix_are_errors_only_with_stack(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n  - id: hook\n    destination:\n      type: webhook\n      url: https://hooks.example/in\n"
        "      signing_secret: other-stack/signing\n"
    )

    assert routes("check", str(path)).returncode == 0
    result = routes("check", str(path), "--stack", "auth0-webhooks")

    assert result.returncode == 1
    assert result.stdout.splitlines()[1] == (
        "  error: route hook: destination.signing_secret: must name a secret under this stack's prefix "
        "(auth0-webhooks/ in Secrets Manager, /auth0-webhooks/ in SSM): the functions may read no other; "
        "got 'other-stack/signing'"
    )


def test_warnings_are_printed_and_the_exit_code_stays_0(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n  - id: bus\n    match: {types: [s, brand_new]}\n    destination: {type: eventbridge, bus: b}\n"
    )

    result = routes("check", str(path))

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"{path}: OK, 1 route",
        "  bus: eventbridge",
        "  warning: route bus: match.types: brand_new: not in the log type table (kept as given)",
    ]


def test_the_file_is_routes_file_else_config_routes_yaml(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text(GOOD)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "routes.yaml").write_text(BAD)

    named = routes("check", cwd=tmp_path, ROUTES_FILE=str(tmp_path / "mine.yaml"))
    default = routes("check", cwd=tmp_path)
    (tmp_path / "config" / "routes.yaml").unlink()
    missing = routes("check", cwd=tmp_path)

    assert (named.returncode, named.stdout.splitlines()[0]) == (0, f"{tmp_path / 'mine.yaml'}: OK, 1 route")
    assert (default.returncode, default.stdout.splitlines()[0]) == (1, "config/routes.yaml: 6 errors")
    assert missing.returncode == 1
    assert missing.stdout.splitlines() == [
        "config/routes.yaml: 1 error",
        "  error: cannot be read (No such file or directory)",
    ]


def test_a_file_of_only_comments_means_no_routes(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text("# routes: none yet\n#   - id: siem\n")

    result = routes("check", str(path))

    assert result.returncode == 0
    assert result.stdout == f"{path}: OK, {NO_ROUTES}\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "the following arguments are required: {check,list,pause,resume}"),
        (["lint"], "argument {check,list,pause,resume}: invalid choice: 'lint'"),
        (["check", "--colour"], "unrecognized arguments: --colour"),
        (["check", "a.yaml", "b.yaml"], "unrecognized arguments: b.yaml"),
        (["check", "--stack"], "argument --stack/--stack-name: expected one argument"),
    ],
)
def test_a_wrong_command_line_exits_2_and_says_why(args: list[str], expected: str):
    result = routes(*args)

    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: auth0-webhooks routes")


def test_python_m_routes_check_is_the_same_command(tmp_path: Path):
    (tmp_path / "routes.yaml").write_text(BAD)
    run = [sys.executable, "-m", "auth0_webhooks.routes.check"]

    bad = subprocess.run([*run, str(tmp_path / "routes.yaml")], capture_output=True, text=True, check=False)
    good = subprocess.run(
        [*run, str(SHIPPED), "--stack-name", "auth0-webhooks"], capture_output=True, text=True, check=False
    )

    assert bad.returncode == 1 and bad.stdout.splitlines()[0].endswith(": 6 errors")
    assert good.returncode == 0, good.stdout
    assert good.stdout.startswith(f"{SHIPPED}: OK, ")


def test_checks_of_parsed_routes_add_their_errors_and_get_the_files_folder(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text(GOOD)
    seen = []

    def template_check(parsed, folder):  # the shape of the notifications' template checks
        seen.append(([route.id for route in parsed], folder))
        return [Problem("bus", "destination.template", "unknown variable user.secret")]

    report = check_file(path, checks=(template_check,))

    assert seen == [(["bus"], tmp_path)]
    assert not report.ok
    assert report.text().splitlines() == [
        f"{path}: 1 error",
        "  error: route bus: destination.template: unknown variable user.secret",
    ]
    assert check_file(path).ok  # none of them by default yet

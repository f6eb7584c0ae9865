"""The routes file: the shipped example passes, every kind of error is reported at once, and the
default route keeps today's settings."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
from auth0_webhooks.errors import ConfigError, RoutesError
from auth0_webhooks.routes import (
    EventBridgeDestination,
    SecretRef,
    WebhookDestination,
    default_route,
    load_routes,
    parse_routes,
    routes_file,
)
from auth0_webhooks.routes.check import check_file, main
from auth0_webhooks.routes.validate import errors

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "routes.yaml"


def uncommented(path: Path) -> str:
    """The shipped file with its example switched on: each line's first "# " removed (prose is "## ")."""
    lines = path.read_text().splitlines()
    return "\n".join(line[2:] if line.startswith("# ") else "" if line == "#" else line for line in lines) + "\n"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(uncommented(SHIPPED))
    return path


def test_the_shipped_file_has_no_routes_so_deployments_keep_the_default_route(capsys: pytest.CaptureFixture[str]):
    report = check_file(SHIPPED, secret_prefix="auth0-webhooks")
    assert report.ok and report.routes == ()
    assert main([str(SHIPPED)]) == 0
    assert "OK, holds no routes" in capsys.readouterr().out


GOOD: dict[str, Any] = {
    "routes": [
        {
            "id": "siem",
            "pii": {"hash": ["email"], "hash_key_secret": "stack/hash-key"},
            "destination": {"type": "webhook", "url": "https://siem.example/in", "signing_secret": "stack/signing"},
        },
        {"id": "bus", "destination": {"type": "eventbridge", "bus": "auth0"}},
    ]
}


def problems(data: Any, secret_prefix: str | None = None) -> list[str]:
    with pytest.raises(RoutesError) as caught:
        parse_routes(data, secret_prefix=secret_prefix)
    return caught.value.problems


def changed(route: int, part: str | None, **fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    target = data["routes"][route] if part is None else data["routes"][route].setdefault(part, {})
    target.update(fields)
    return data


def test_the_shipped_example_passes_with_the_stack_prefix(example: Path):
    report = check_file(example, secret_prefix="auth0-webhooks")
    assert report.ok, report.text()
    assert [route.id for route in report.routes] == ["siem", "security", "events"]
    siem, security, events = report.routes
    assert isinstance(siem.destination, WebhookDestination)
    assert (siem.destination.format, siem.destination.compression) == ("jsonlines", "gzip")
    assert siem.pii.hash_key_secret == SecretRef("secretsmanager", "auth0-webhooks/siem-hash-key")
    assert isinstance(security.destination, WebhookDestination)
    assert security.destination.format == "logstream-array"
    assert security.match.min_level == 3
    assert isinstance(events.destination, EventBridgeDestination)


def test_load_routes_returns_frozen_typed_routes(example: Path):
    routes = load_routes(example)
    with pytest.raises(AttributeError):
        routes[0].id = "other"  # type: ignore[misc]
    assert isinstance(routes, tuple)


def test_a_good_file_has_no_problems():
    assert errors(GOOD, secret_prefix="stack") == []


def test_every_error_is_reported_at_once_each_naming_route_and_field():
    data = copy.deepcopy(GOOD)
    data["routes"][0]["colour"] = "red"
    data["routes"][0]["match"] = {"categories": ["auth.login.fail", "logins"], "min_level": "loud"}
    data["routes"][0]["destination"]["url"] = "http://siem.example/in"
    data["routes"][1]["id"] = "siem"
    found = problems(data)
    assert found == [
        "route siem: colour: unknown field; allowed: description, destination, id, match, pii",
        "route siem: match.min_level: must be one of debug, info, warning, error, critical, 0, 1, 2, 3, 4; got 'loud'",
        found[2],
        "route siem: destination.url: must be an https:// URL (http:// only with allow_insecure: true, for local runs);"
        " got 'http://siem.example/in'",
        "route siem: id: is also the id of route #1; ids must be unique",
    ]
    assert found[2].startswith("route siem: match.categories[1]: unknown category 'logins'; allowed: actions, ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (changed(1, "destination", region="x"), "route bus: destination.region: unknown field; allowed: bus, type"),
        (
            changed(0, "match", types=["s"], colour=1),
            "route siem: match.colour: unknown field; allowed: api_endpoints,",
        ),
        (changed(0, "destination", url="ftp://x"), "route siem: destination.url: must be an https:// URL"),
        (changed(0, "destination", url="https://user:pw@x"), "route siem: destination.url: must not hold credentials"),
        (
            changed(0, "destination", signing_secret=""),
            "route siem: destination.signing_secret: must be a Secrets Manager",
        ),
        (
            changed(0, "destination", signing_secret="no spaces"),
            "route siem: destination.signing_secret: must be a Secrets",
        ),
        (changed(0, "destination", format="xml"), "route siem: destination.format: must be one of array, object,"),
        (
            changed(0, "destination", headers={"Authorization": "x"}),
            "route siem: destination.headers.Authorization: is set",
        ),
        (
            changed(0, "destination", batch_size=0),
            "route siem: destination.batch_size: 0 is less than the minimum of 1",
        ),
        (
            changed(0, "pii", hash=["log_id"]),
            "route siem: pii.hash[0]: cannot hash log_id is read by the pipeline itself",
        ),
        (changed(0, "pii", mask=["details..x"]), "route siem: pii.mask[0]: must be text matching"),
        (changed(0, "pii", mask=["email"]), "route siem: pii.mask[0]: email is already under pii.hash"),
        (changed(0, "pii", hash_key_secret=None), "route siem: pii.hash_key_secret: must be of type string"),
        (changed(0, "match", min_level="verbose"), "route siem: match.min_level: must be one of debug, info,"),
        (changed(1, None, id="Bad Id"), "route Bad Id: id: must be lower-case letters, digits and -; unique."),
        ({"routes": []}, "routes: [] should be non-empty"),
        ({"routes": [{"id": "x"}]}, "route x: destination: is required"),
        ({"routes": [{"id": "x", "destination": {"type": "pigeon"}}]}, "route x: destination.type: must be one of"),
        ({"rutes": []}, "rutes: unknown field; allowed: routes, version"),
        ("just text", "must be of type object; got str"),
    ],
)
def test_each_error_names_the_route_the_field_and_what_is_allowed(data: Any, expected: str):
    found = problems(data)
    assert any(problem.startswith(expected) or expected in problem for problem in found), found


def test_hash_needs_a_key_secret():
    data = copy.deepcopy(GOOD)
    del data["routes"][0]["pii"]["hash_key_secret"]
    assert problems(data) == [
        "route siem: pii.hash_key_secret: is required to hash (the name of the secret holding the key)"
    ]


def test_secrets_outside_the_stack_prefix_are_refused():
    data = changed(0, "destination", authorization_secret="/other-stack/token")
    assert problems(data, secret_prefix="stack") == [
        "route siem: destination.authorization_secret: must name a secret under this stack's prefix "
        "(stack/ in Secrets Manager, /stack/ in SSM): the functions may read no other; got '/other-stack/token'"
    ]
    ssm = changed(0, "destination", authorization_secret="arn:aws:ssm:eu-west-1:123456789012:parameter/stack/token")
    assert errors(ssm, secret_prefix="stack") == []


def test_http_is_allowed_only_with_allow_insecure():
    data = changed(0, "destination", url="http://127.0.0.1:9000/hook", allow_insecure=True)
    (route, _) = parse_routes(data)
    assert isinstance(route.destination, WebhookDestination)
    assert route.destination.url == "http://127.0.0.1:9000/hook"


def test_credentials_in_a_url_never_reach_the_message():
    found = problems(changed(0, "destination", url="ftp://user:hunter2@x/"))
    assert found == [
        "route siem: destination.url: must be an https:// URL (http:// only with allow_insecure: true, "
        "for local runs); got 'ftp://****@x/'"
    ]


def test_routes_error_is_a_config_error_listing_every_problem():
    with pytest.raises(ConfigError) as caught:
        parse_routes({"routes": [{"id": "a"}, {"id": "b"}]}, source="my.yaml")
    assert str(caught.value) == (
        "my.yaml has 2 errors:\n  route a: destination: is required\n  route b: destination: is required"
    )


def test_a_file_that_is_not_yaml_is_reported_with_its_line(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text("routes:\n  - id: a\n   bad: [\n")
    report = check_file(path)
    assert not report.ok
    assert str(report.errors[0]).startswith("is not valid YAML at line 3")


def test_a_key_given_twice_is_an_error_not_a_silent_overwrite(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n  - id: a\n    destination:\n      type: webhook\n      url: https://a\n      url: https://b\n"
    )
    report = check_file(path)
    assert list(map(str, report.errors)) == ["is not valid YAML at line 6: key 'url' is given twice in one mapping"]


def test_check_main_prints_the_report_and_exits_1_on_errors(
    tmp_path: Path, example: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "bad.yaml"
    path.write_text("routes:\n  - id: a\n    destination: {type: webhook, url: 'http://x'}\n")
    assert main([str(path)]) == 1
    assert "error: route a: destination.url: must be an https:// URL" in capsys.readouterr().out
    assert main([str(example)]) == 0
    assert "OK, 3 routes" in capsys.readouterr().out


def test_warnings_for_unknown_type_codes(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n  - id: a\n    match: {types: [s, brand_new]}\n    destination: {type: eventbridge, bus: b}\n"
    )
    report = check_file(path)
    assert report.ok
    (warning,) = report.warnings
    assert str(warning) == "route a: match.types: brand_new: not in the log type table (kept as given)"


def test_the_check_finds_a_missing_template_and_a_variable_off_the_allow_list(tmp_path: Path, capsys):
    shutil.copytree(ROOT / "config" / "templates" / "password-changed", tmp_path / "templates" / "leaky")
    (tmp_path / "templates" / "leaky" / "text.liquid").write_text("Reset: {{ event.details.resetUrl }}\n")
    shutil.copytree(ROOT / "config" / "templates" / "password-changed", tmp_path / "templates" / "password-changed")
    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n"
        "  - id: pw\n    destination: {type: email, template: password-changed, from: 'Acme <s@acme.test>'}\n"
        "  - id: typo\n    destination: {type: email, template: pasword-changed, from: s@acme.test}\n"
        "  - id: sec\n    destination: {type: slack, template: leaky, webhook_url_secret: stack/slack}\n"
    )
    report = check_file(path)
    assert not report.ok and len(report.errors) == 2
    errors = [str(problem) for problem in report.errors]
    assert errors[0].startswith("route typo: destination.template: template 'pasword-changed': no such template")
    assert errors[1].startswith(
        "route sec: destination.template: template 'leaky': unknown variable event.details.resetUrl;"
    )
    assert main([str(path)]) == 1
    assert "error: route typo: destination.template" in capsys.readouterr().out
    path.write_text(
        "routes:\n  - id: pw\n    destination: {type: email, template: password-changed, from: 'Acme <s@acme.test>'}\n"
    )
    assert check_file(path).ok


def test_an_email_route_needs_a_single_sender_address(tmp_path: Path):
    path = tmp_path / "routes.yaml"
    path.write_text('routes:\n  - id: pw\n    destination: {type: email, template: x, from: "a@b\\r\\nBcc: c@d"}\n')
    (error,) = check_file(path).errors
    assert str(error).startswith("route pw: destination.from:")


def test_routes_file_comes_from_routes_file_setting():
    assert routes_file({"ROUTES_FILE": "/tmp/r.yaml"}) == Path("/tmp/r.yaml")
    assert routes_file({"ROUTES_FILE": "  "}) is None
    assert routes_file({}) is None


def test_the_default_route_is_todays_settings():
    route = default_route(
        "https://hooks.example/auth0",
        authorization_secret="arn:aws:secretsmanager:eu-west-1:123456789012:secret:stack/webhook-authorization-x",
        signing_secret="/stack/webhook-secret",
        send_as_batch=True,
        log_types=["s", "f"],
        min_log_level=2,
        api_endpoints=["users"],
        concurrency=7,
        timeout=12.5,
    )
    assert route.id == "default"
    destination = route.destination
    assert isinstance(destination, WebhookDestination)
    assert (destination.url, destination.format, destination.concurrency, destination.timeout) == (
        "https://hooks.example/auth0",
        "array",
        7,
        12.5,
    )
    assert destination.authorization_secret is not None and destination.authorization_secret.kind == "secretsmanager"
    assert destination.signing_secret == SecretRef("ssm", "/stack/webhook-secret")
    assert (route.match.types, route.match.min_level, route.match.api_endpoints) == (
        frozenset({"s", "f"}),
        2,
        ("users",),
    )
    assert route.pii.empty
    assert default_route("https://x", send_as_batch=False).destination.format == "object"  # type: ignore[union-attr]

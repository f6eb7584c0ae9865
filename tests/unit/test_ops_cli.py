import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], check=False, capture_output=True, text=True)


def test_help_lists_every_command():
    result = run("-m", "auth0_webhooks.ops", "--help")

    assert result.returncode == 0
    assert "doctor     check the Auth0 credentials" in result.stdout
    assert "redrive    move dead-lettered logs back" in result.stdout
    assert "replay     send the logs of a past time window" in result.stdout


def test_an_unknown_command_names_the_commands_allowed():
    result = run("-m", "auth0_webhooks.ops", "frobnicate")

    assert result.returncode == 2
    allowed = "'doctor', 'preview', 'redrive', 'replay', 'routes', 'status', 'test-event'"
    assert f"invalid choice: 'frobnicate' (choose from {allowed})" in result.stderr


def test_routes_pause_resume_and_list_are_routes_subcommands_and_route_is_gone():
    routes = run("-m", "auth0_webhooks.ops", "routes", "--help")
    gone = run("-m", "auth0_webhooks.ops", "route", "pause", "siem", "--table", "t")

    assert routes.returncode == 0
    assert "{check,list,pause,resume}" in routes.stdout
    assert "pause a route's deliveries by hand" in routes.stdout
    assert gone.returncode == 2 and "invalid choice: 'route'" in gone.stderr


def test_routes_pause_needs_a_stack_or_a_table():
    result = run("-m", "auth0_webhooks.ops", "routes", "pause", "siem")

    assert result.returncode == 2
    assert "auth0-webhooks routes: error: give --stack or --table" in result.stderr


def test_a_command_gets_its_own_arguments_and_name():
    result = run("-m", "auth0_webhooks.ops", "redrive", "--rate", "0")

    assert result.returncode == 2
    assert "auth0-webhooks redrive: error: argument --rate: must be a number above 0" in result.stderr


def test_the_handlers_never_import_the_operator_tools():
    imports = "import functions.poller.app, functions.deliverer.app, functions.alerter.app"
    check = "import sys; print(sorted(m for m in sys.modules if m.startswith('auth0_webhooks.')))"
    result = run("-c", f"{imports}; {check}")

    assert result.returncode == 0, result.stderr
    assert "auth0_webhooks.poller" in result.stdout
    assert "auth0_webhooks.ops" not in result.stdout

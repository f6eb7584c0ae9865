"""``routes check``: every error and warning in a routes file, for people and for the doctor.

Run it as ``python -m auth0_webhooks.routes.check config/routes.yaml [--stack-name NAME]``;
it exits 1 when the file has errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RoutesError
from .load import read_yaml
from .model import EmailDestination, Route, SlackDestination
from .validate import Problem, errors, warnings


@dataclass(frozen=True)
class CheckReport:
    source: str
    routes: tuple[Route, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    def text(self) -> str:
        """What ``routes check`` prints.

        >>> print(CheckReport("routes.yaml", errors=("route x: id: is required",)).text())
        routes.yaml: 1 error
          error: route x: id: is required
        """
        if self.ok and not self.routes:
            head = f"{self.source}: OK, no routes (the default route, from the stack's webhook settings)"
        elif self.ok:
            head = f"{self.source}: OK, {len(self.routes)} route{'s' if len(self.routes) != 1 else ''}"
            head += "".join(f"\n  {route.id}: {route.destination.type}" for route in self.routes)
        else:
            head = f"{self.source}: {len(self.errors)} error{'s' if len(self.errors) != 1 else ''}"
        lines = [f"  error: {problem}" for problem in self.errors] + [f"  warning: {w}" for w in self.warnings]
        return "\n".join([head, *lines])


def check_file(path: Path, secret_prefix: str | None = None, templates: Path | None = None) -> CheckReport:
    """Every problem in the routes file at ``path`` (secrets checked against ``secret_prefix`` if given;
    templates in ``templates``, by default ``templates/`` beside the file)."""
    from .load import parse_routes

    try:
        data = read_yaml(path)
    except RoutesError as error:
        return CheckReport(str(path), errors=tuple(error.problems))
    if data is None:
        return CheckReport(str(path))  # only comments: no routes, the default route
    found = errors(data, secret_prefix)
    if found:
        return CheckReport(str(path), errors=tuple(map(str, found)))
    routes = parse_routes(data, secret_prefix, source=str(path))
    found = template_problems(routes, templates or templates_dir(path))
    if found:
        return CheckReport(str(path), errors=tuple(map(str, found)))
    return CheckReport(str(path), routes, warnings=tuple(map(str, _warnings(routes))))


def templates_dir(routes_file: Path) -> Path:
    """Where the templates of the routes file's e-mail and Slack routes are: ``templates/`` beside it.

    >>> templates_dir(Path("/opt/routes.yaml")).as_posix()
    '/opt/templates'
    """
    return routes_file.parent / "templates"


def template_problems(routes: Sequence[Route], root: Path) -> list[Problem]:
    """A route naming a template that is missing, does not parse or reads a variable off the allow-list.

    Imports the template engine only when a route has an ``email`` or ``slack`` destination.
    """
    named = [route for route in routes if isinstance(route.destination, EmailDestination | SlackDestination)]
    if not named:
        return []
    from ..notify.templates import TemplateError, TemplateStore

    store, found = TemplateStore(root), []
    for route in named:
        template = route.destination.template  # type: ignore[union-attr]  # email or slack, filtered above
        try:
            store.validate(template)
        except TemplateError as error:
            found.append(Problem(route.id, "destination.template", str(error)))
    return found


def _warnings(routes: Sequence[Route]) -> list[Problem]:
    return warnings(routes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auth0_webhooks.routes.check", description=__doc__)
    parser.add_argument("file", type=Path, help="the routes file, e.g. config/routes.yaml")
    parser.add_argument("--stack-name", help="check that every secret is under this stack's prefix (NAME/)")
    args = parser.parse_args(argv)
    report = check_file(args.file, secret_prefix=args.stack_name)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

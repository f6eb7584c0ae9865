"""``routes check``: every error and warning in a routes file, for people, machines and the doctor.

Its command is ``auth0-webhooks routes check [FILE]`` (:mod:`auth0_webhooks.ops.routes_command`);
``python -m auth0_webhooks.routes.check`` runs the same. First what the file's YAML and schema
say (:func:`.validate.errors`, every error at once), then, once the routes parse, the checks of
:data:`ROUTE_CHECKS` that need whole routes, then the warnings. A file that holds only comments
means "no routes": the stack's webhook settings make the one route ``default``.

>>> report = CheckReport("routes.yaml", errors=(Problem("x", "id", "is required"),))
>>> print(report.text())
routes.yaml: 1 error
  error: route x: id: is required
>>> report.as_json()["errors"]
[{'route': 'x', 'field': 'id', 'message': 'is required'}]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RoutesError
from .load import parse_routes, read_yaml
from .model import EmailDestination, Route, SlackDestination
from .validate import Problem, errors, warnings

# Checks that need the parsed routes and the folder of the routes file (templates live beside it,
# in config/templates): each answers the errors it finds.
RouteCheck = Callable[[Sequence[Route], Path], list[Problem]]
NO_ROUTES = "holds no routes (only comments): the stack's webhook settings make the one route default"


@dataclass(frozen=True)
class CheckReport:
    source: str
    routes: tuple[Route, ...] = ()
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    empty: bool = False  # the file holds only comments: no routes, the default route applies

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line: the file and what it holds, or how many errors it has."""
        if not self.ok:
            return f"{self.source}: {_n(len(self.errors), 'error')}"
        if self.empty:
            return f"{self.source}: OK, {NO_ROUTES}"
        return f"{self.source}: OK, {_n(len(self.routes), 'route')}"

    def text(self) -> str:
        """What ``routes check`` prints."""
        lines = [self.summary()]
        if self.ok:
            lines += [f"  {route.id}: {route.destination.type}" for route in self.routes]
        lines += [f"  error: {problem}" for problem in self.errors]
        lines += [f"  warning: {problem}" for problem in self.warnings]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """What ``routes check --json`` prints: each problem as its route, field and message."""
        return {
            "file": self.source,
            "ok": self.ok,
            "routes": [{"id": route.id, "destination": route.destination.type} for route in self.routes],
            "errors": [_problem_json(problem) for problem in self.errors],
            "warnings": [_problem_json(problem) for problem in self.warnings],
        }


def check_file(path: Path, secret_prefix: str | None = None, checks: Sequence[RouteCheck] | None = None) -> CheckReport:
    """Every problem in the routes file at ``path`` (secrets checked against ``secret_prefix`` if given;
    ``checks`` run on the parsed routes, :data:`ROUTE_CHECKS` by default)."""
    try:
        data = read_yaml(path)
    except RoutesError as error:
        return CheckReport(str(path), errors=tuple(Problem("", "", problem) for problem in error.problems))
    if data is None:
        return CheckReport(str(path), empty=True)
    found = errors(data, secret_prefix)
    if found:
        return CheckReport(str(path), errors=tuple(found))
    routes = parse_routes(data, secret_prefix, source=str(path))
    run = ROUTE_CHECKS if checks is None else checks
    found = [problem for check in run for problem in check(routes, path.parent)]
    return CheckReport(str(path), routes, errors=tuple(found), warnings=tuple(warnings(routes)))


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


def check_templates(routes: Sequence[Route], folder: Path) -> list[Problem]:
    """:func:`template_problems` with the templates beside the routes file (``folder/templates``)."""
    return template_problems(routes, folder / "templates")


ROUTE_CHECKS: tuple[RouteCheck, ...] = (check_templates,)


def _problem_json(problem: Problem) -> dict[str, str]:
    return {"route": problem.route, "field": problem.field, "message": problem.message}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m auth0_webhooks.routes.check``: the same as ``auth0-webhooks routes check``."""
    from ..ops.routes_command import check_main

    return check_main(argv, prog="python -m auth0_webhooks.routes.check")


if __name__ == "__main__":
    sys.exit(main())

"""Liquid templates, one folder each: ``<root>/<name>/subject.liquid``, ``text.liquid``, ``html.liquid``.

Templates are rendered with python-liquid 2, locked down:

- they see only the allow-listed ``event`` (:mod:`.event`), plain strings, bools and dicts;
- a missing variable raises unless the template gives ``| default: "…"`` (strict undefined);
- the HTML part is auto-escaped and the ``safe`` filter is gone, so no value can switch it off;
- ``include``/``render`` find nothing (an empty loader), and loops and output are bounded;
- a subject is one line: a CR, LF or NUL in it is refused (header injection), and it is cut
  to :data:`MAX_SUBJECT_LENGTH` characters. A subject that renders empty means "send nothing".

``liquid`` is imported here only, so only what renders templates pays for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liquid import DictLoader, Environment, StrictDefaultUndefined
from liquid.exceptions import LiquidError

from ..errors import Auth0WebhooksError
from .event import ALLOWED_PATHS

PARTS = ("subject", "text", "html")  # files <part>.liquid in each template's folder
MAX_SUBJECT_LENGTH = 150
MAX_TEMPLATE_BYTES = 64 * 1024
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_HEADER_BREAKERS = re.compile(r"[\r\n\x00\u2028\u2029\x85]")
CHECKOUT_TEMPLATES = Path(__file__).resolve().parents[4] / "config" / "templates"  # the ready set, in a checkout


class TemplateError(Auth0WebhooksError):
    """A template is missing, does not parse, reads a variable it may not, or failed to render."""

    def __init__(self, template: str, problem: str) -> None:
        self.template = template
        super().__init__(f"template {template!r}: {problem}")


class _Locked(Environment):
    """Bounded: no template can loop, nest or write without end."""

    context_depth_limit = 10
    loop_iteration_limit = 1000
    local_namespace_limit = 10_000
    output_stream_limit = 200_000


def _environment(autoescape: bool) -> Environment:
    env = _Locked(loader=DictLoader({}), undefined=StrictDefaultUndefined, autoescape=autoescape)
    env.filters.pop("safe", None)
    return env


_PLAIN = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


@dataclass(frozen=True)
class Rendered:
    """What one template made of one event. An empty ``subject`` means the template chose not to send."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class NotificationTemplate:
    """The three parsed parts of one template."""

    name: str
    subject: Any
    text: Any
    html: Any

    def variables(self) -> set[str]:
        """Every variable path any part reads, e.g. ``event.user.name``."""
        paths: set[str] = set()
        for part in (self.subject, self.text, self.html):
            paths.update(str(path) for path in part.global_variable_paths())
        return paths

    def render(self, event: dict[str, Any], text_event: dict[str, Any] | None = None) -> Rendered:
        """Render every part; ``text_event`` (default ``event``) feeds the text part (Slack escapes it)."""
        try:
            subject = self.subject.render(event=event).strip()
            text = self.text.render(event=text_event if text_event is not None else event).strip()
            html = self.html.render(event=event).strip()
        except LiquidError as error:
            raise TemplateError(self.name, f"failed to render: {_first_line(error)}") from None
        return Rendered(subject=check_subject(self.name, subject), text=text + "\n" if text else "", html=html)


def check_subject(template: str, subject: str) -> str:
    """A subject is one line (CR, LF, NUL refused) of at most :data:`MAX_SUBJECT_LENGTH` characters.

    >>> check_subject("t", "Your password was changed")
    'Your password was changed'
    >>> check_subject("t", "Hi\\r\\nBcc: victim@example.com")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    auth0_webhooks.notify.templates.TemplateError: template 't': the subject has a line break or NUL (refused: ...)
    """
    if _HEADER_BREAKERS.search(subject):
        raise TemplateError(template, "the subject has a line break or NUL (refused: header injection)")
    if len(subject) > MAX_SUBJECT_LENGTH:
        subject = subject[: MAX_SUBJECT_LENGTH - 1].rstrip() + "…"
    return subject


class TemplateStore:
    """The templates under ``root`` (``config/templates``), parsed once each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, NotificationTemplate] = {}
        self._valid: set[str] = set()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name))

    def get(self, name: str) -> NotificationTemplate:
        """The parsed template ``name``; :class:`TemplateError` if it is missing or does not parse."""
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def validate(self, name: str) -> NotificationTemplate:
        """Load ``name`` and check that it reads only allow-listed variables (for the routes check)."""
        template = self.get(name)
        if name in self._valid:
            return template
        unknown = sorted(path for path in template.variables() if path not in ALLOWED_PATHS)
        if unknown:
            allowed = ", ".join(sorted(ALLOWED_PATHS))
            raise TemplateError(name, f"unknown variable {', '.join(unknown)}; a template may read only: {allowed}")
        self._valid.add(name)
        return template

    def _load(self, name: str) -> NotificationTemplate:
        if not NAME.match(name):
            raise TemplateError(name, "a template name is lower-case letters, digits and '-' (a folder name)")
        folder = self.root / name
        if not folder.is_dir():
            raise TemplateError(name, f"no such template (looked for the folder {folder})")
        parsed: dict[str, Any] = {}
        for part in PARTS:
            path = folder / f"{part}.liquid"
            if not path.is_file():
                raise TemplateError(name, f"missing {part}.liquid (a template has {', '.join(PARTS)})")
            source = path.read_text(encoding="utf-8")
            if len(source.encode()) > MAX_TEMPLATE_BYTES:
                raise TemplateError(name, f"{part}.liquid is over {MAX_TEMPLATE_BYTES} bytes")
            env = _HTML if part == "html" else _PLAIN
            try:
                parsed[part] = env.from_string(source, name=f"{name}/{part}.liquid")
            except LiquidError as error:
                raise TemplateError(name, f"{part}.liquid does not parse: {_first_line(error)}") from None
        return NotificationTemplate(name=name, **parsed)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

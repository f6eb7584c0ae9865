"""The ready templates against realistic logs, and what a template may and may not do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from auth0_webhooks.notify.event import ALLOWED_PATHS, Recipient, build_event
from auth0_webhooks.notify.templates import MAX_SUBJECT_LENGTH, TemplateError, TemplateStore

from tests.notify_samples import FAMILIAR, READY, RESET_REQUEST, RESET_URL, USER_ID, log

ROOT = Path(__file__).resolve().parents[2]
READY_SET = TemplateStore(ROOT / "config" / "templates")
ANA = Recipient(USER_ID, "ana@example.com", True, "Ana Silva")


def store_with(tmp_path: Path, name: str, subject: str, text: str = "t", html: str = "h") -> TemplateStore:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    for part, source in (("subject", subject), ("text", text), ("html", html)):
        (folder / f"{part}.liquid").write_text(source)
    return TemplateStore(tmp_path)


@pytest.mark.parametrize(("template", "entry"), READY, ids=[f"{t}-{e['type']}" for t, e in READY])
def test_every_ready_template_renders_its_logs(template, entry):
    message = READY_SET.validate(template).render(build_event(entry, ANA, "Acme"))
    assert message.subject and "\n" not in message.subject
    for part in (message.text, message.html):
        assert "2026-11-02 09:14 UTC" in part
        assert "Lisbon, Portugal" in part
        assert "203.0.113.9" in part
    if template != "security-alert":
        assert message.text.startswith("Hi Ana Silva,")
        assert "If it was not you" in message.text or "If this was not you" in message.text
    assert message.html.startswith("<!doctype html>")


def test_the_ready_set_is_every_template_and_reads_only_allowed_variables():
    names = READY_SET.names()
    assert {t for t, _ in READY} == set(names)
    for name in names:
        assert READY_SET.validate(name).variables() <= ALLOWED_PATHS


def test_breached_password_says_which_of_the_three_it_was():
    texts = {
        kind: READY_SET.get("breached-password").render(build_event(log("1", kind), ANA)).text
        for kind in ("pwd_leak", "signup_pwd_leak", "reset_pwd_leak")
    }
    assert "A sign-in to your account" in texts["pwd_leak"]
    assert "when your account ana@example.com was created" in texts["signup_pwd_leak"]
    assert "in a password reset" in texts["reset_pwd_leak"]


def test_new_sign_in_sends_only_when_the_log_says_new_device_or_far_away():
    template = READY_SET.get("new-sign-in")
    assert template.render(build_event(log("1", "s", details=FAMILIAR), ANA)).subject == ""
    assert template.render(build_event(log("1", "s"), ANA)).subject == ""
    risky = template.render(build_event(READY[9][1], ANA))
    assert risky.subject == "New sign-in to your account"
    assert "a device we have not seen before, and a place far from where you last signed in" in risky.text


def test_user_controlled_fields_are_escaped_in_html_and_plain_in_text():
    hostile = Recipient(USER_ID, "ana@example.com", True, "<script>alert(1)</script>")
    entry = log("1", "scp", user_agent='<img src=x onerror="steal()">')
    message = READY_SET.get("password-changed").render(build_event(entry, hostile))
    assert "<script>" not in message.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "<img" not in message.html and "&lt;img src=x onerror=&#34;steal()&#34;&gt;" in message.html
    assert "Hi <script>alert(1)</script>," in message.text  # text is text: no entities in it


def test_a_subject_with_a_line_break_is_refused(tmp_path):
    store = store_with(tmp_path, "hello", "Hello {{ event.user.name }}")
    injected = Recipient(USER_ID, "ana@example.com", True, "Ana\r\nBcc: everyone@example.com")
    with pytest.raises(TemplateError, match="'hello': the subject has a line break or NUL"):
        store.validate("hello").render(build_event(log("1", "scp"), injected))


def test_a_long_subject_is_cut(tmp_path):
    store = store_with(tmp_path, "long", "{{ event.user.name }}")
    message = store.get("long").render(build_event(log("1", "scp"), Recipient(USER_ID, "a@b.c", True, "x" * 190)))
    assert len(message.subject) == MAX_SUBJECT_LENGTH and message.subject.endswith("…")


def test_validation_names_the_template_and_the_unknown_variable(tmp_path):
    store = store_with(tmp_path, "leaky", "Reset", text="Your link: {{ event.details.resetUrl }}")
    with pytest.raises(TemplateError, match=r"template 'leaky': unknown variable event\.details\.resetUrl; a template"):
        store.validate("leaky")


def test_a_template_never_sees_the_raw_log():
    event = build_event(RESET_REQUEST, ANA, "Acme")
    assert RESET_URL not in repr(event) and "LIVE-SECRET" not in repr(event)
    message = READY_SET.get("security-alert").render(event)
    assert "LIVE-SECRET" not in message.subject + message.text + message.html


def test_a_missing_variable_is_an_error_unless_the_template_gives_a_default(tmp_path):
    store = store_with(tmp_path, "strict", "{{ event.user.nickname }}")
    with pytest.raises(TemplateError, match=r"'strict': failed to render: event\.user\.nickname is undefined"):
        store.get("strict").render(build_event(log("1", "scp"), ANA))
    default = store_with(tmp_path, "soft", "{{ event.user.nickname | default: 'you' }}")
    assert default.get("soft").render(build_event(log("1", "scp"), ANA)).subject == "you"


def test_a_template_cannot_switch_escaping_off_or_include_files(tmp_path):
    store = store_with(tmp_path, "unsafe", "s", html="{{ event.user.name | safe }}")
    with pytest.raises(TemplateError, match="'unsafe'"):
        store.get("unsafe").render(build_event(log("1", "scp"), Recipient(USER_ID, "a@b.c", True, "<b>")))
    (tmp_path / "secret.liquid").write_text("secret")
    sneaky = store_with(tmp_path, "sneaky", "{% include 'secret' %}")
    with pytest.raises(TemplateError, match="'sneaky'"):
        sneaky.get("sneaky").render(build_event(log("1", "scp"), ANA))


def test_a_template_name_cannot_leave_the_templates_folder(tmp_path):
    with pytest.raises(TemplateError, match="lower-case letters"):
        TemplateStore(tmp_path).get("../etc")
    with pytest.raises(TemplateError, match="no such template"):
        TemplateStore(tmp_path).get("absent")


def test_the_event_object_has_every_allowed_path_and_nothing_else():
    def paths(value: object, prefix: str) -> set[str]:
        if isinstance(value, dict):
            return {p for key, item in value.items() for p in paths(item, f"{prefix}.{key}")}
        assert isinstance(value, (str, bool)), prefix  # plain values only: no Python objects
        return {prefix}

    assert paths(build_event(READY[0][1], ANA, "Acme"), "event") == ALLOWED_PATHS
    assert paths(build_event({"type": 3, "location_info": "x", "details": []}), "event") == ALLOWED_PATHS


def test_the_offline_renderer_prints_the_mail_and_refuses_a_bad_template(tmp_path, capsys):
    from auth0_webhooks.notify.__main__ import main

    entry = tmp_path / "scp.json"
    entry.write_text(json.dumps(READY[0][1]))
    html = tmp_path / "out.html"
    assert main(["password-changed", str(entry), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("To: Ana Silva <ana@example.com>\nSubject: Your password was changed\n\nHi Ana Silva,")
    assert html.read_text().startswith("<!doctype html>")
    store_with(tmp_path / "mine", "leaky", "{{ event.details }}")
    assert main(["leaky", str(entry), "--templates", str(tmp_path / "mine")]) == 1
    assert "unknown variable event.details" in capsys.readouterr().err

"""Sentences for people that are written in one place and read in another, later, in the
reader's language: a worker records why a delivery failed, a German manager reads it.

A `Text` is a `str` (what it says in the language active when it was made, for logs and for
code that only needs a string) that also keeps its message id and parameters. Stored as
`text_data(text)` (plain JSON), it is rendered again where it is read with `render_text`, in
whatever language is active there. Parameters may be Texts themselves (a reason inside a
sentence), and are rendered the same way; anything else is kept as it is (a platform's own
words stay the platform's words).

    raise PermanentError(Text(gettext_noop("%(platform)s refused the request: %(reason)s"),
                              platform="Mastodon", reason=reason))

Mark the message id with `gettext_noop` so makemessages finds it.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


class Text(str):
    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Text:
        self = super().__new__(cls, _render(msgid, params))
        self.msgid = str(msgid)
        self.params = params
        return self

    def __reduce__(self):  # pickles (Celery, caches) as what it is
        return (_rebuild, (self.msgid, self.params))

    def as_data(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": {k: _as_data(v) for k, v in self.params.items()}}


def _rebuild(msgid: str, params: dict[str, Any]) -> Text:
    return Text(msgid, **params)


def _as_data(value: Any) -> Any:
    if isinstance(value, Text):
        return value.as_data()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def _render(msgid: str, params: dict[str, Any]) -> str:
    translated = gettext(msgid)
    if not params and "%(" not in msgid:
        return translated
    # Numbers stay numbers (a message may say %(count)d); everything else is rendered as text.
    values = {k: _as_value(v) for k, v in params.items()}
    try:
        return translated % values
    except (KeyError, TypeError, ValueError):  # a catalogue that lost a placeholder
        return msgid % values


def _as_value(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def text_data(value: Any) -> dict[str, Any]:
    """What to store beside a message so it can be rendered again (empty for a plain str)."""
    return value.as_data() if isinstance(value, Text) else {}


def as_written(text: str) -> str:
    """A plain stored sentence, translated where it is a message id with no parameters (what
    a worker wrote in the default language, before it kept Texts); else as it is."""
    return gettext(text) if text else ""


def render_text(data: Any, fallback: str = "") -> str:
    """The stored message `data` in the active language; `fallback` (the text as written) when
    there is no data or it cannot be read."""
    if not isinstance(data, dict) or not isinstance(data.get("msgid"), str):
        return fallback
    params = data.get("params") or {}
    if not isinstance(params, dict):
        return fallback
    rendered = {k: render_text(v, "") if isinstance(v, dict) else v for k, v in params.items()}
    try:
        return _render(data["msgid"], rendered)
    except (KeyError, TypeError, ValueError):
        return fallback

"""Differences between two revisions of a post, per field and channel, as escaped inline HTML."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass
class FieldDiff:
    label: str
    changed: bool
    html: SafeString  # the new text with <del>/<ins> marks; every piece escaped


def inline_diff(old: str, new: str) -> SafeString:
    """Word-level inline diff: removed words in <del>, added ones in <ins>."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    parts: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(escape("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            parts.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            parts.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    return mark_safe("".join(parts))  # every piece above is escaped


def _row(label: str, old, new) -> FieldDiff:
    old_s, new_s = _as_text(old), _as_text(new)
    return FieldDiff(label=label, changed=old_s != new_s, html=inline_diff(old_s, new_s))


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _local(value: str | None, tz) -> str:
    if not value:
        return ""
    return dt.datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def revision_diff(old: dict, new: dict, tz=None) -> list[FieldDiff]:
    """Rows for the post's fields and each channel's variant (channels added or removed too).

    Times are shown in `tz` (the workspace's) when given.
    """
    if tz is not None:
        old = {**old, "scheduled_at": _local(old.get("scheduled_at"), tz)}
        new = {**new, "scheduled_at": _local(new.get("scheduled_at"), tz)}
    rows = [
        _row(_("Title"), old.get("title"), new.get("title")),
        _row(_("Text"), old.get("body"), new.get("body")),
        _row(_("Media"), old.get("media"), new.get("media")),
        _row(_("Time"), old.get("scheduled_at"), new.get("scheduled_at")),
    ]
    old_ch, new_ch = old.get("channels", {}), new.get("channels", {})
    names = {k: v.get("name", k) for k, v in {**old_ch, **new_ch}.items()}
    rows.append(
        _row(
            _("Channels"),
            sorted(names[k] for k in old_ch),
            sorted(names[k] for k in new_ch),
        )
    )
    for key in sorted(set(old_ch) | set(new_ch), key=lambda k: names[k]):
        a, b = old_ch.get(key, {}), new_ch.get(key, {})
        name = names[key]
        rows += [
            _row(_("%(channel)s: text") % {"channel": name}, a.get("body"), b.get("body")),
            _row(_("%(channel)s: title") % {"channel": name}, a.get("title"), b.get("title")),
            _row(
                _("%(channel)s: first comment") % {"channel": name},
                a.get("first_comment"),
                b.get("first_comment"),
            ),
            _row(_("%(channel)s: media") % {"channel": name}, a.get("media"), b.get("media")),
        ]
    return rows

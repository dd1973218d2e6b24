"""The German translation is complete, compiled, and safe to format."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.LOCALE_PATHS[0]) / "de" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|\{(\w*)\}")


def _entries(domain):
    return [e for e in polib.pofile(str(LOCALE / f"{domain}.po")) if not e.obsolete]


# The scripts take their words from data-* attributes the templates translate, so only the
# django domain exists; a djangojs.po appearing later is checked the same way.
DOMAINS = ["django"] + (["djangojs"] if (LOCALE / "djangojs.po").exists() else [])


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_and_not_fuzzy(domain):
    entries = _entries(domain)
    assert entries, "no messages extracted"
    untranslated = [e.msgid for e in entries if not e.translated()]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_their_placeholders(domain):
    for entry in _entries(domain):
        pairs = [(entry.msgid, entry.msgstr)]
        if entry.msgid_plural:
            pairs = [(entry.msgid_plural, s) for s in entry.msgstr_plural.values()]
        for source, target in pairs:
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), (
                f"placeholders differ: {source!r} -> {target!r}"
            )


def test_compiled_catalogue_is_up_to_date():
    """Every .po entry is what Django actually serves (the .mo was recompiled)."""
    stale = []
    with translation.override("de"):
        for entry in _entries("django"):
            if entry.msgid_plural or entry.msgctxt or not entry.msgid:
                continue
            if translation.gettext(entry.msgid) != entry.msgstr:
                stale.append(entry.msgid)
    assert stale == [], "run `make messages` (compilemessages)"


def test_login_page_speaks_german_to_a_german_browser(client, db):
    response = client.get("/accounts/login/", headers={"accept-language": "de"})
    assert response.status_code == 200
    assert 'lang="de"' in response.text
    assert "Anmelden" in response.text


def test_user_language_overrides_the_browser(client, db):
    from tests.factories import UserFactory

    user = UserFactory(username="hans", language="de")
    client.force_login(user)
    response = client.get("/", headers={"accept-language": "en"}, follow=True)
    assert 'lang="de"' in response.text


def test_switching_language_is_stored_on_the_user(client, db):
    from tests.factories import UserFactory

    user = UserFactory(username="jane", language="")
    client.force_login(user)
    response = client.post("/accounts/language/", {"language": "de", "next": "/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "de"


def test_switching_to_an_unknown_language_is_refused(client, db):
    from tests.factories import UserFactory

    user = UserFactory(username="joe", language="en")
    client.force_login(user)
    response = client.post("/accounts/language/", {"language": "xx"})
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.language == "en"


def test_language_switch_never_redirects_off_site(client, db):
    response = client.post(
        "/accounts/language/", {"language": "de", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_the_rulebook_speaks_german():
    """Every label and refusal of workflow.RULES is in the catalogue (makemessages finds
    only the translation functions under their own names: an alias such as `_L = gettext_lazy`
    left the whole table in English once)."""
    from calendar_app.workflow import RULES, SHOWN_LABELS

    texts = [SHOWN_LABELS[state] for state in SHOWN_LABELS]
    for rule in RULES.values():
        texts += [t for t in (rule.label, rule.status_refusal, rule.timing_refusal) if t]
    with translation.override("en"):
        english = [str(t) for t in texts]
    with translation.override("de"):
        german = [str(t) for t in texts]
    assert [e for e, g in zip(english, german, strict=True) if e == g] == []


def test_no_translation_function_hides_under_an_alias():
    """makemessages would not extract strings marked through an alias of gettext."""
    alias = re.compile(r"^\s*\w+\s*=\s*(n|p|np)?gettext(_lazy)?\s*$", re.M)
    apps = ["calendar_app", "publishing", "links", "analytics", "notifications", "accounts"]
    found = [
        str(path)
        for app in apps
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py")
        if alias.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []

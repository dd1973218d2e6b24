"""Sentences written in a worker and read later in the reader's language (notifications.texts),
and the delivery errors that use them (issue 20: "Mastodon refused the request: Not Found" in
the German UI)."""

from __future__ import annotations

import pickle

import pytest
import responses
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from notifications.models import Notification
from notifications.texts import Text, render_text, text_data
from publishing.adapters.http import error_for
from publishing.models import Attempt, Delivery, DeliveryState
from tests.conftest import login
from tests.publishing.test_publishing_engine import engine, mastodon, sent, work
from tests.publishing_helpers import due_post

FIXTURES = (engine, mastodon, sent, work)
REFUSED = gettext_noop("%(platform)s refused the request: %(reason)s")


def test_a_text_is_the_string_it_says_and_renders_again_in_another_language():
    with translation.override("en"):
        text = Text(REFUSED, platform="Mastodon", reason="Not Found")
    assert text == "Mastodon refused the request: Not Found"
    data = text_data(text)
    with translation.override("de"):
        assert render_text(data) == "Mastodon hat die Anfrage abgelehnt: Not Found"
    with translation.override("en"):
        assert render_text(data) == "Mastodon refused the request: Not Found"
    assert pickle.loads(pickle.dumps(text)).as_data() == data


def test_nested_texts_render_inside_out_and_bad_data_falls_back():
    inner = Text(gettext_noop("The channel was removed from the post."))
    outer = Text("%(message)s %(detail)s", message=inner, detail="HTTP 404")
    with translation.override("de"):
        assert render_text(text_data(outer)) == "Der Kanal wurde aus dem Beitrag entfernt. HTTP 404"
    assert render_text({}, "as written") == "as written"
    assert render_text({"msgid": 3}, "as written") == "as written"
    assert render_text({"msgid": "%(x)s", "params": {}}, "as written") == "as written"
    assert text_data("plain") == {}


@responses.activate
def test_a_platform_refusal_is_kept_as_a_message_id_with_the_platforms_own_words():
    responses.add(responses.GET, "https://m.example/x", json={"error": "Not Found"}, status=404)
    import requests

    error = error_for(requests.get("https://m.example/x"), platform="mastodon")
    assert error.message.msgid == REFUSED
    assert error.message.params["reason"] == "Not Found"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Mastodon refused the request: Not Found"),
        ("de", "Mastodon hat die Anfrage abgelehnt: Not Found"),
    ],
)
def test_a_failed_delivery_reads_in_the_readers_language(
    client, workspace, editor, mastodon, work, language, expected
):
    from publishing.adapters.base import PermanentError
    from publishing.adapters.recording import RecordingAdapter

    post = due_post(workspace, [mastodon], author=editor.user)
    with translation.override("en"):  # the worker's language
        RecordingAdapter.faults = [
            PermanentError(Text(REFUSED, platform="Mastodon", reason="Not Found"), status=404)
        ]
    assert work() == ["failed"]
    delivery = Delivery.objects.get(post=post)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.error == "Mastodon refused the request: Not Found"  # for logs, as written

    editor.user.language = language
    editor.user.save(update_fields=["language"])
    login(client, editor)
    panel = client.get(reverse("publishing:post_deliveries", args=[workspace.slug, post.pk]))
    assert expected in panel.content.decode()
    log = client.get(reverse("publishing:log", args=[workspace.slug])).content.decode()
    assert expected in log
    with translation.override(language):
        assert Attempt.objects.get(delivery=delivery).error_text.startswith(expected)
        notification = Notification.objects.get(recipient=editor.user, kind="publish_failed")
        assert notification.detail == expected


def test_a_reason_stored_as_plain_text_in_the_default_language_still_reads_in_german(
    workspace, mastodon
):
    post = due_post(workspace, [mastodon])
    delivery = Delivery.objects.create(
        post=post,
        channel=mastodon,
        workspace=workspace,
        due_at=post.scheduled_at,
        run_at=post.scheduled_at,
        state=DeliveryState.FAILED,
        error="The channel is not connected: reconnect it.",
        idempotency_key="k",
    )
    with translation.override("de"):
        assert delivery.error_text == "Der Kanal ist nicht verbunden: Verbinden Sie ihn neu."
        delivery.error = "Something only the platform says."
        assert delivery.error_text == "Something only the platform says."


def test_an_adapters_error_raised_in_a_worker_reads_in_the_readers_language():
    """Adapter messages are Texts: raised under the worker's language, read in the reader's
    (issue 20: delivery errors appeared in English in the German UI)."""
    from publishing.adapters.base import Account, AdapterError, Credentials, PublishRequest
    from publishing.adapters.telegram import TelegramAdapter

    with responses.RequestsMock() as api, translation.override("en"):
        api.post(
            "https://api.telegram.test/botT0K3N/sendMessage",
            status=401,
            json={"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
        adapter = TelegramAdapter(base_url="https://api.telegram.test")
        try:
            adapter.publish(
                account=Account(account_id="-1001", config={"chat_id": "-1001"}),
                credentials=Credentials(access_token="T0K3N"),
                request=PublishRequest(text="Hallo", idempotency_key="k"),
            )
        except AdapterError as exc:
            stored = text_data(exc.message)
    with translation.override("de"):
        said = render_text(stored)
    assert "Bot-Token" in said and "rejected" not in said

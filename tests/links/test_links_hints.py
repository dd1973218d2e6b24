"""The link-tracking note in the post editor (through settings.EDITOR_HINTS), without a query."""

from __future__ import annotations

import pytest
from django.urls import reverse

from calendar_app.models import Workspace
from links.hints import editor_hints
from tests.conftest import login
from tests.factories import PostFactory


@pytest.mark.parametrize(
    ("tagging", "shorten", "expected"),
    [
        (False, False, None),
        (True, False, "get UTM parameters when it goes out"),
        (False, True, "replaced by short links that count clicks"),
        (True, True, "get UTM parameters and are replaced by short links"),
    ],
)
def test_the_note_says_what_will_happen_to_links(
    workspace, tagging, shorten, expected, django_assert_num_queries
):
    workspace.utm_tagging, workspace.shorten_links = tagging, shorten
    with django_assert_num_queries(0):
        hints = editor_hints(workspace=workspace, post=None)
    if expected is None:
        assert hints == []
    else:
        [hint] = hints
        assert hint.slot == "post"
        assert expected in hint.html
        assert 'data-testid="link-tracking-hint"' in hint.html


def test_the_editor_of_a_saved_post_shows_the_note_when_tracking_is_on(
    client, editor, workspace, channel
):
    Workspace.objects.filter(pk=workspace.pk).update(utm_tagging=True)
    post = PostFactory(workspace=workspace, author=editor.user, channels=[channel])

    html = login(client, editor).get(reverse("calendar:post_edit", args=["acme", post.pk]))
    assert 'data-testid="link-tracking-hint"' in html.content.decode()

    Workspace.objects.filter(pk=workspace.pk).update(utm_tagging=False)
    html = client.get(reverse("calendar:post_edit", args=["acme", post.pk]))
    assert 'data-testid="link-tracking-hint"' not in html.content.decode()

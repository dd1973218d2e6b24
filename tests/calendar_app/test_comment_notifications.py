"""Who hears of a comment (issue 12): the post's author and the thread's participants, in the
app and by e-mail, with a preference of its own; never the writer; an external reviewer's words
never travel into anyone's inbox; someone removed from a workspace reads none of its
notifications any more."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from calendar_app.services import comments, review
from calendar_app.services.workspaces import member_remove
from notifications.models import Kind, Notification, NotificationPreference
from tests.calendar_app.review.test_approval_services import NOW, new_post
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def kinds_of(member) -> list[str]:
    return list(
        Notification.objects.filter(recipient=member.user)
        .order_by("id")
        .values_list("kind", flat=True)
    )


def test_a_team_comment_tells_the_author_and_the_threads_participants_once(
    editor, manager, owner, channel
):
    post = new_post(editor, channel)
    other = MembershipFactory(workspace=editor.workspace, user=UserFactory(username="other"))
    comments.post_comment_add(membership=manager, post_id=post.pk, body="Looks good")
    assert kinds_of(editor) == [Kind.COMMENTED]
    assert kinds_of(manager) == []  # never of one's own comment

    comments.post_comment_add(membership=other, post_id=post.pk, body="@owner what price?")
    assert kinds_of(editor) == [Kind.COMMENTED, Kind.COMMENTED]
    assert kinds_of(manager) == [Kind.COMMENTED]  # took part in the thread
    assert kinds_of(owner) == [Kind.MENTIONED]  # mentioned: one notification, not two
    latest = Notification.objects.filter(recipient=editor.user).latest("id")
    assert latest.message == f"other commented on “{post.display_title}”"
    assert latest.detail == "@owner what price?"


def test_an_external_comment_tells_the_author_without_carrying_the_outsiders_text(
    editor, manager, channel, mailoutbox, django_capture_on_commit_callbacks
):
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    link, _token = review.review_link_create(
        membership=manager,
        post_ids=[post.pk],
        recipient_name="Clara",
        recipient_email="clara@client.example",
    )
    with django_capture_on_commit_callbacks(execute=True):
        comments.post_comment_add(
            membership=None,
            post_id=post.pk,
            body="@editor click https://evil.example/login now",
            link=link,
        )
    told = Notification.objects.get(recipient=editor.user)
    assert told.kind == Kind.COMMENTED
    assert "Clara" in told.message and "evil" not in told.message and told.detail == ""
    assert "evil" not in str(told.params)
    assert all("evil" not in m.body and "evil" not in m.subject for m in mail.outbox)


def test_comment_notifications_have_their_own_preference(editor, manager, channel):
    post = new_post(editor, channel)
    NotificationPreference.objects.create(
        user=editor.user, kind=Kind.COMMENTED, in_app=False, email=False
    )
    comments.post_comment_add(membership=manager, post_id=post.pk, body="Hm")
    assert kinds_of(editor) == []


@pytest.mark.django_db
def test_a_removed_member_reads_none_of_the_workspaces_notifications(
    client, owner, editor, manager, channel
):
    post = new_post(editor, channel)
    comments.post_comment_add(membership=manager, post_id=post.pk, body="The price is 4.20 €")
    assert kinds_of(editor) == [Kind.COMMENTED]

    member_remove(membership=owner, member_id=editor.pk)

    assert not Notification.objects.filter(recipient=editor.user).exists()

"""notify(): who is told, on which channels, when the e-mail leaves, and in which language."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation

from calendar_app.models import Role
from config.celery import app
from notifications.models import Kind, Notification, NotificationPreference, render_message
from notifications.selectors import unread_count
from notifications.services import notification_mark_read, notify
from tests.factories import MembershipFactory, PostFactory, UserFactory


@pytest.fixture
def eager_celery():
    """Tasks run in-process when enqueued (the e-mail task then uses the locmem outbox)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def post(workspace, editor):
    return PostFactory(workspace=workspace, author=editor.user, title="Spring teaser")


def _recipients(kind=None):
    qs = Notification.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    return sorted(n.recipient.username for n in qs)


# --- recipients -------------------------------------------------------------------------------


def test_given_the_actor_among_recipients_when_notified_then_the_actor_is_skipped(
    members, post, editor, manager, owner
):
    notify(
        kind=Kind.SUBMITTED,
        recipients=[manager.user, owner.user, editor.user],
        workspace=post.workspace,
        post=post,
        actor=editor.user,
    )
    assert _recipients() == ["manager", "owner"]


def test_given_a_non_member_when_notified_then_only_members_are_told(
    post, manager, other_workspace
):
    stranger = other_workspace.memberships.get().user
    nobody = UserFactory(username="nobody")

    notify(
        kind=Kind.APPROVED,
        recipients=[manager.user, stranger, nobody],
        workspace=post.workspace,
        post=post,
    )

    assert _recipients() == ["manager"]


def test_given_duplicate_recipients_when_notified_then_each_is_told_once(post, manager, owner):
    notify(
        kind=Kind.SUBMITTED,
        recipients=[manager.user, owner.user, manager.user, owner.user],
        workspace=post.workspace,
        post=post,
    )
    assert _recipients() == ["manager", "owner"]


def test_given_an_inactive_member_when_notified_then_they_are_skipped(post, manager):
    manager.user.is_active = False
    manager.user.save()
    notify(kind=Kind.SUBMITTED, recipients=[manager.user], workspace=post.workspace, post=post)
    assert Notification.objects.count() == 0


def test_given_a_post_and_actor_then_the_row_keeps_names_and_links_to_the_editor(
    post, editor, manager
):
    editor.user.first_name, editor.user.last_name = "Erika", "Muster"
    notify(
        kind=Kind.SUBMITTED,
        recipients=[manager.user],
        workspace=post.workspace,
        post=post,
        actor=editor.user,
        params={"detail": "Please check the hashtags."},
    )
    row = Notification.objects.get()
    assert row.params == {
        "actor": "Erika Muster",
        "post": "Spring teaser",
        "detail": "Please check the hashtags.",
    }
    assert row.url == f"/w/acme/posts/{post.pk}/"
    assert (row.post, row.actor, row.workspace, row.read_at) == (
        post,
        editor.user,
        post.workspace,
        None,
    )
    assert row.message == "Erika Muster submitted “Spring teaser” for review"


def test_given_a_foreign_url_when_notifying_then_it_is_refused(post, manager):
    with pytest.raises(ValueError):
        notify(
            kind=Kind.SUBMITTED,
            recipients=[manager.user],
            workspace=post.workspace,
            url="https://evil.example/",
        )
    assert Notification.objects.count() == 0


def test_given_an_unknown_kind_when_notifying_then_it_is_refused(post, manager):
    with pytest.raises(ValueError):
        notify(kind="gossip", recipients=[manager.user], workspace=post.workspace)


# --- the message is rendered when read ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "english"),
    [
        (Kind.APPROVED, {"actor": "Max", "post": "Teaser"}, "Max approved “Teaser”"),
        (
            Kind.PUBLISH_FAILED,
            {"post": "Teaser", "channel": "Acme Mastodon"},
            "“Teaser” could not be published on Acme Mastodon",
        ),
        (
            Kind.CHANNEL_NEEDS_RECONNECT,
            {"channel": "Acme X"},
            "The channel Acme X needs to be reconnected",
        ),
        (Kind.APPROVED, {}, "… approved “…”"),
    ],
)
def test_given_kind_and_params_then_the_sentence_is_rendered(kind, params, english):
    assert render_message(kind, params) == english


def test_every_kind_has_a_sentence_a_description_and_an_icon():
    from notifications.models import DESCRIPTIONS, ICONS, MESSAGES

    assert set(MESSAGES) == set(DESCRIPTIONS) == set(ICONS) == set(Kind.values)


# --- preferences ------------------------------------------------------------------------------


def test_given_in_app_off_for_the_kind_when_notified_then_no_row_but_an_email(
    post, manager, owner, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=manager.user, kind=Kind.SUBMITTED, in_app=False, email=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            kind=Kind.SUBMITTED,
            recipients=[manager.user, owner.user],
            workspace=post.workspace,
            post=post,
        )
    assert _recipients() == ["owner"]
    assert sorted(m.to[0] for m in mailoutbox) == ["manager@example.com", "owner@example.com"]


def test_given_email_off_for_the_kind_when_notified_then_a_row_but_no_email(
    post, manager, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=manager.user, kind=Kind.SUBMITTED, in_app=True, email=False
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(kind=Kind.SUBMITTED, recipients=[manager.user], workspace=post.workspace, post=post)
    assert _recipients() == ["manager"]
    assert callbacks == []
    assert mailoutbox == []


def test_given_a_preference_for_another_kind_then_this_kind_is_unaffected(
    post, manager, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=manager.user, kind=Kind.APPROVED, in_app=False, email=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify(kind=Kind.SUBMITTED, recipients=[manager.user], workspace=post.workspace, post=post)
    assert _recipients() == ["manager"]
    assert len(mailoutbox) == 1


def test_given_email_turned_off_before_the_task_runs_then_nothing_is_sent(
    post, manager, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(kind=Kind.SUBMITTED, recipients=[manager.user], workspace=post.workspace, post=post)
    NotificationPreference.objects.create(user=manager.user, kind=Kind.SUBMITTED, email=False)
    for callback in callbacks:
        callback()
    assert mailoutbox == []


# --- e-mail: after commit, in the recipient's language -------------------------------------------


def test_given_a_transaction_when_notified_then_the_email_waits_for_the_commit(
    post, manager, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(kind=Kind.SUBMITTED, recipients=[manager.user], workspace=post.workspace, post=post)
        assert mailoutbox == []
    assert len(callbacks) == 1
    assert mailoutbox == []

    callbacks[0]()

    assert len(mailoutbox) == 1


def test_given_a_rolled_back_transaction_then_no_email_and_no_row(
    post, manager, mailoutbox, eager_celery
):
    from django.db import transaction

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        notify(kind=Kind.SUBMITTED, recipients=[manager.user], workspace=post.workspace, post=post)
        raise Boom
    assert Notification.objects.count() == 0
    assert mailoutbox == []


@override_settings(SITE_URL="https://calendar.example.com")
def test_given_an_english_recipient_then_subject_body_and_absolute_link_are_english(
    post, editor, manager, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    manager.user.language = "en"
    manager.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            kind=Kind.SUBMITTED,
            recipients=[manager.user],
            workspace=post.workspace,
            post=post,
            actor=editor.user,
        )
    (mail,) = mailoutbox
    assert mail.to == ["manager@example.com"]
    assert mail.subject == "[Acme] editor submitted “Spring teaser” for review"
    assert f"https://calendar.example.com/w/acme/posts/{post.pk}/" in mail.body
    assert "https://calendar.example.com/notifications/preferences/" in mail.body


def test_given_a_german_recipient_then_the_subject_is_german(
    post, editor, manager, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    manager.user.language = "de"
    manager.user.save()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notify(
            kind=Kind.SUBMITTED,
            recipients=[manager.user],
            workspace=post.workspace,
            post=post,
            actor=editor.user,
        )
    (mail,) = mailoutbox
    assert mail.subject == "[Acme] editor hat „Spring teaser“ zur Freigabe eingereicht"
    assert "Hallo manager," in mail.body


def test_given_no_user_language_then_the_workspace_language_is_used(
    post, editor, manager, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    manager.user.language = ""
    manager.user.save()
    post.workspace.language = "en"
    post.workspace.save()
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        notify(
            kind=Kind.APPROVED,
            recipients=[manager.user],
            workspace=post.workspace,
            post=post,
            actor=editor.user,
        )
    assert mailoutbox[0].subject == "[Acme] editor approved “Spring teaser”"


def test_given_a_member_without_address_then_no_email(
    post, workspace, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    user = UserFactory(username="silent", email="")
    MembershipFactory(workspace=workspace, user=user, role=Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        notify(kind=Kind.SUBMITTED, recipients=[user], workspace=workspace, post=post)
    assert _recipients() == ["silent"]
    assert mailoutbox == []


# --- unread count and marking read -----------------------------------------------------------


def _notify_many(post, user, n):
    for _ in range(n):
        notify(kind=Kind.SUBMITTED, recipients=[user], workspace=post.workspace, post=post)


def test_unread_count_is_one_query(post, manager, django_assert_num_queries):
    _notify_many(post, manager.user, 3)
    with django_assert_num_queries(1):
        assert unread_count(manager.user) == 3


def test_given_ids_when_marked_read_then_only_those_of_this_user_change(post, manager, owner):
    _notify_many(post, manager.user, 2)
    _notify_many(post, owner.user, 1)
    mine = list(manager.user.notifications.values_list("pk", flat=True))
    theirs = owner.user.notifications.get().pk

    changed = notification_mark_read(user=manager.user, ids=[mine[0], theirs])

    assert changed == 1
    assert unread_count(manager.user) == 1
    assert unread_count(owner.user) == 1


def test_given_all_when_marked_read_then_every_unread_of_this_user_is_read(post, manager, owner):
    _notify_many(post, manager.user, 3)
    _notify_many(post, owner.user, 2)

    assert notification_mark_read(user=manager.user, all=True) == 3

    assert unread_count(manager.user) == 0
    assert unread_count(owner.user) == 2


def test_given_read_notifications_when_marked_again_then_read_at_is_kept(post, manager):
    _notify_many(post, manager.user, 1)
    notification_mark_read(user=manager.user, all=True)
    first = manager.user.notifications.get().read_at

    assert notification_mark_read(user=manager.user, all=True) == 0
    assert manager.user.notifications.get().read_at == first


def test_given_old_notifications_when_purged_then_only_stale_ones_go(post, manager, owner):
    import datetime as dt

    from django.utils import timezone

    from notifications.services import notifications_purge_old

    now = timezone.now()
    kind = Kind.SUBMITTED

    def make(days_old: int, read: bool) -> Notification:
        return Notification.objects.create(
            recipient=manager.user,
            kind=kind,
            workspace=post.workspace,
            post=post,
            created_at=now - dt.timedelta(days=days_old),
            read_at=now if read else None,
        )

    fresh_read, old_read = make(10, True), make(91, True)
    old_unread, ancient_unread = make(200, False), make(366, False)
    others = Notification.objects.create(
        recipient=owner.user, kind=kind, workspace=post.workspace, created_at=now, read_at=now
    )

    assert notifications_purge_old(now=now) == 2

    left = set(Notification.objects.values_list("pk", flat=True))
    assert left == {fresh_read.pk, old_unread.pk, others.pk}
    assert old_read.pk not in left and ancient_unread.pk not in left

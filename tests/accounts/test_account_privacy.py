"""A member's own data: the JSON download (theirs only, one query per section) and deleting the
account (password confirmed, refused for a workspace's last owner, names pseudonymised so every
history page still reads, "Deleted user")."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.exports import personal_data_export
from accounts.models import User
from accounts.services import account_delete
from calendar_app.models import (
    AuditEvent,
    Membership,
    Post,
    PostComment,
    PostRevision,
    ReviewDecision,
    Role,
)
from calendar_app.services import review
from calendar_app.services.comments import post_comment_add
from calendar_app.services.workspaces import StepInput
from notifications.models import Notification, NotificationPreference
from notifications.services import notification_preferences_set
from tests.calendar_app.review.test_approval_services import NOW, new_post, set_policy
from tests.conftest import login
from tests.factories import InvitationFactory, MembershipFactory, UserFactory

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
EXPORT_QUERIES = 13  # one per section


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def history(workspace, owner, editor, manager, channel):
    """Erika (the editor) wrote a post and submitted it, commented, approved the manager's post
    and chose her notification settings; the manager commented on her post (which told her)."""
    editor.user.first_name, editor.user.last_name = "Erika", "Mustermann"
    editor.user.email = "erika@example.com"
    editor.user.save()
    manager.user.email = "max.private@example.com"
    manager.user.save()
    set_policy(owner, steps=[StepInput(name="Team", roles=["editor", "manager"], members=[])])
    hers = new_post(editor, channel, body="Unser Sommerangebot")
    review.post_submit_for_review(membership=editor, post_id=hers.pk)
    post_comment_add(membership=manager, post_id=hers.pk, body="Max's private remark")
    post_comment_add(membership=editor, post_id=hers.pk, body="Grüße aus Köln")
    theirs = new_post(manager, channel, body="Max's post")
    review.post_submit_for_review(membership=manager, post_id=theirs.pk)
    review.post_approve(membership=editor, post_id=theirs.pk, comment="Passt so")
    notification_preferences_set(user=editor.user, choices={"mentioned": (True, False)})
    return {"hers": hers, "theirs": theirs}


def export_of(user: User) -> tuple[str, dict]:
    raw = "".join(personal_data_export(user))
    return raw, json.loads(raw)


def delete_url() -> str:
    return reverse("account_delete")


# --- download ------------------------------------------------------------------------------------


def test_given_a_member_when_they_download_their_data_then_a_utf8_json_attachment_comes(
    client, editor, history
):
    response = login(client, editor).get(reverse("privacy_export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "personal-data-editor-2026-06-01.json" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert "Grüße aus Köln".encode() in body  # UTF-8, not \u escapes
    assert json.loads(body.decode("utf-8"))["profile"]["email"] == "erika@example.com"


def test_given_a_member_with_history_when_exported_then_it_holds_their_data(editor, history):
    _raw, data = export_of(editor.user)

    assert data["profile"] | {"date_joined": None} == {
        "username": "editor",
        "first_name": "Erika",
        "last_name": "Mustermann",
        "email": "erika@example.com",
        "language": "",
        "date_joined": None,
        "last_login": None,
        "is_staff": False,
    }
    assert dt.datetime.fromisoformat(data["profile"]["date_joined"]).tzinfo is not None
    assert dt.datetime.fromisoformat(data["exported_at"]) == NOW
    assert data["memberships"] == [
        {
            "workspace": "Acme",
            "workspace_slug": "acme",
            "role": "editor",
            "member_since": data["memberships"][0]["member_since"],
        }
    ]
    assert [p["id"] for p in data["posts_authored"]] == [history["hers"].pk]
    assert data["posts_authored"][0]["status"] == "in_review"
    assert [c["text"] for c in data["comments"]] == ["Grüße aus Köln"]
    assert [(d["post"], d["kind"], d["comment"]) for d in data["review_decisions"]] == [
        (history["theirs"].pk, "approve", "Passt so")
    ]
    assert {(e["post"], e["action"]) for e in data["audit_events"]} >= {
        (history["hers"].pk, "submit"),
        (history["theirs"].pk, "approve"),
    }
    assert [r["post"] for r in data["post_revisions"]] == [history["hers"].pk]
    messages = {n["kind"]: n["message"] for n in data["notifications"]}
    assert set(messages) == {"commented", "submitted"}  # Max's comment, Max's post to approve
    assert messages["commented"] == f"manager commented on “{history['hers'].display_title}”"
    assert data["notification_preferences"] == [
        {"kind": "mentioned", "in_app": True, "by_email": False}
    ]


def test_given_others_in_the_workspace_when_exported_then_none_of_their_private_data_is_in_it(
    editor, manager, owner, history
):
    raw, _data = export_of(editor.user)

    # The manager's comment reached Erika's bell (its text rides in the notification's
    # parameters), yet neither it nor anyone else's address is in her file.
    assert "Max's private remark" not in raw
    assert "max.private@example.com" not in raw
    assert owner.user.email not in raw


@pytest.mark.parametrize("extra_comments", [0, 40])
def test_given_a_heavy_user_when_exported_then_the_query_count_stays_one_per_section(
    editor, history, django_assert_num_queries, extra_comments
):
    for n in range(extra_comments):
        post_comment_add(membership=editor, post_id=history["hers"].pk, body=f"Nummer {n}")
    user = User.objects.get(pk=editor.user.pk)

    with django_assert_num_queries(EXPORT_QUERIES):
        _raw, data = export_of(user)

    assert len(data["comments"]) == 1 + extra_comments


def test_given_no_login_when_the_export_is_asked_for_then_the_login_page_answers(client, db):
    response = client.get(reverse("privacy_export"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_given_a_member_when_they_open_your_data_then_both_choices_are_offered(client, editor):
    response = login(client, editor).get(reverse("privacy"))

    assert response.status_code == 200
    assert reverse("privacy_export") in response.content.decode()
    assert 'data-testid="account-delete-form"' in response.content.decode()


# --- delete --------------------------------------------------------------------------------------


def test_given_the_right_password_when_deleting_then_the_account_is_pseudonymised(
    client, editor, history
):
    user_id = editor.user.pk

    response = login(client, editor).post(delete_url(), {"password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    user = User.objects.get(pk=user_id)
    assert user.username == f"deleted-{user_id}"
    assert (user.first_name, user.last_name, user.email, user.language) == ("", "", "", "")
    assert not user.is_active
    assert not user.has_usable_password()
    assert user.deleted_at == NOW
    assert str(user) == "Deleted user"
    assert not Membership.objects.filter(user_id=user_id).exists()
    assert not Notification.objects.filter(recipient_id=user_id).exists()
    assert not NotificationPreference.objects.filter(user_id=user_id).exists()
    # History keeps pointing at the same (nameless) person.
    assert Post.objects.get(pk=history["hers"].pk).author_id == user_id
    assert PostRevision.objects.filter(post=history["hers"], author_id=user_id).exists()
    assert AuditEvent.objects.filter(actor_id=user_id).count() >= 2
    comment = PostComment.objects.get(body="Grüße aus Köln")
    assert comment.author_id == user_id
    assert comment.author_name == "Deleted user"
    decision = ReviewDecision.objects.get(user_id=user_id)
    assert decision.actor_name == "Deleted user"


def test_given_a_deleted_author_when_others_open_the_history_pages_then_they_read_deleted_user(
    client, editor, manager, history
):
    account_delete(user=editor.user, password=PASSWORD)
    login(client, manager)
    pages = [
        reverse("calendar:post_history", args=["acme", history["hers"].pk]),
        reverse("calendar:post_history", args=["acme", history["theirs"].pk]),
        reverse("calendar:post_edit", args=["acme", history["hers"].pk]),
        reverse("calendar:review_queue", args=["acme"]),
        reverse("calendar:post_review_panel", args=["acme", history["hers"].pk]),
        reverse("calendar:list", args=["acme"]),
        reverse("publishing:log", args=["acme"]),
        reverse("analytics:dashboard", args=["acme"]),
        reverse("notifications:list"),
    ]

    for page in pages:
        response = client.get(page)
        html = response.content.decode()
        assert response.status_code == 200, page
        assert "Erika" not in html and "Mustermann" not in html, page
    for page in pages[:4]:  # the pages that name people
        assert "Deleted user" in client.get(page).content.decode(), page


def test_given_an_invitation_she_accepted_when_deleting_then_its_address_is_blanked(
    workspace, owner, editor
):
    invitation = InvitationFactory(
        workspace=workspace,
        email="erika@example.com",
        invited_by=owner.user,
        accepted_by=editor.user,
        accepted_at=NOW,
    )

    account_delete(user=editor.user, password=PASSWORD)

    invitation.refresh_from_db()
    assert invitation.email == ""
    assert invitation.accepted_by_id == editor.user.pk


def test_given_a_deleted_actor_when_others_read_their_notifications_then_no_name_is_left(
    editor, manager, history
):
    told = Notification.objects.filter(recipient=manager.user, actor=editor.user)
    assert told.exists()

    account_delete(user=editor.user, password=PASSWORD)

    for notification in told.all():
        assert "Erika" not in json.dumps(notification.params)
        assert notification.message.startswith("Deleted user ")


def test_given_a_deleted_account_when_logging_in_with_the_old_credentials_then_it_fails(
    editor, history
):
    other_browser = Client()
    other_browser.force_login(editor.user)
    home = reverse("notifications:list")
    assert other_browser.get(home).status_code == 200

    account_delete(user=editor.user, password=PASSWORD)

    for username in ("editor", f"deleted-{editor.user.pk}"):
        browser = Client()
        response = browser.post(reverse("login"), {"username": username, "password": PASSWORD})
        assert response.status_code == 200  # the form again, with its error
        assert "_auth_user_id" not in browser.session
    response = other_browser.get(home)  # the session of another device ended too
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_given_the_last_owner_when_deleting_then_it_is_refused_and_nothing_changes(
    client, owner, history
):
    login(client, owner)
    before = User.objects.filter(pk=owner.user.pk).values().get()

    response = client.post(delete_url(), {"password": PASSWORD})

    assert response.status_code == 400
    assert "You are the last owner of these workspaces: Acme." in response.content.decode()
    assert User.objects.filter(pk=owner.user.pk).values().get() == before
    assert Membership.objects.filter(pk=owner.pk, role=Role.OWNER).exists()


def test_given_another_owner_when_an_owner_deletes_then_it_is_allowed(workspace, owner):
    MembershipFactory(workspace=workspace, user=UserFactory(), role=Role.OWNER)

    account_delete(user=owner.user, password=PASSWORD)

    assert not Membership.objects.filter(pk=owner.pk).exists()


def test_given_a_wrong_password_when_deleting_then_it_is_refused_and_nothing_changes(
    client, editor, history
):
    login(client, editor)
    before = User.objects.filter(pk=editor.user.pk).values().get()
    notifications = Notification.objects.count()

    response = client.post(delete_url(), {"password": "not my password"})

    assert response.status_code == 400
    assert "The password is not correct. Your account was not deleted." in (
        response.content.decode()
    )
    assert User.objects.filter(pk=editor.user.pk).values().get() == before
    assert Membership.objects.filter(pk=editor.pk).exists()
    assert Notification.objects.count() == notifications


def test_given_no_password_when_deleting_then_it_is_refused(client, editor):
    response = login(client, editor).post(delete_url(), {})

    assert response.status_code == 400
    assert User.objects.get(pk=editor.user.pk).is_active


def test_given_a_get_when_deleting_then_405_and_nothing_changes(client, editor):
    response = login(client, editor).get(delete_url(), {"password": PASSWORD})

    assert response.status_code == 405
    assert User.objects.get(pk=editor.user.pk).is_active


def test_given_no_csrf_token_when_deleting_then_403_and_nothing_changes(editor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor.user)

    response = browser.post(delete_url(), {"password": PASSWORD})

    assert response.status_code == 403
    assert User.objects.get(pk=editor.user.pk).is_active


def test_given_a_deleted_account_when_deleted_again_then_it_is_refused(editor):
    account_delete(user=editor.user, password=PASSWORD)

    with pytest.raises(ValidationError):
        account_delete(user=User.objects.get(pk=editor.user.pk), password=PASSWORD)


def test_given_two_factor_set_up_when_deleting_the_account_then_its_second_factors_go(
    client, editor
):
    from accounts.models import AuthenticatorDevice, RecoveryCodeDevice
    from accounts.two_factor import two_factor_setup_start

    two_factor_setup_start(user=editor.user)
    RecoveryCodeDevice.objects.create(user=editor.user, name="recovery")

    account_delete(user=editor.user, password=PASSWORD)

    assert not AuthenticatorDevice.objects.filter(user_id=editor.user.pk).exists()
    assert not RecoveryCodeDevice.objects.filter(user_id=editor.user.pk).exists()

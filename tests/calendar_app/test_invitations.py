"""Joining a workspace by invitation only: nobody is added without accepting, the inviter's answer
never tells whether an address has an account, and a link works once, until it expires."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from calendar_app.models import Invitation, InvitationState, Membership, Role
from calendar_app.permissions import invitation_role_refusal
from calendar_app.services import workspaces as svc
from calendar_app.tokens import token_sign
from tests.conftest import login
from tests.factories import InvitationFactory, MembershipFactory, UserFactory

OWNER, MANAGER, EDITOR, VIEWER = Role.OWNER, Role.MANAGER, Role.EDITOR, Role.VIEWER
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MEMBERS = reverse("calendar:members", args=["acme"])


def invite(owner, email="nina@example.com", role=EDITOR) -> tuple[Invitation, str]:
    return svc.invitation_create(membership=owner, email=email, role=role)


def link(token: str) -> str:
    return reverse("invitation", args=[token])


@pytest.fixture
def nina(db):
    """An account of the installation that is no member of Acme."""
    return UserFactory(
        username="nina", email="nina@example.com", first_name="Nina", last_name="Neumann"
    )


# --- the finding: nobody is added without consent ----------------------------------------------


def test_given_the_old_add_request_when_an_owner_posts_it_then_nobody_is_added_or_named(
    client, owner, nina
):
    response = login(client, owner).post(
        MEMBERS, {"action": "add", "username_or_email": "nina@example.com", "role": "editor"}
    )
    assert response.status_code < 500
    assert not Membership.objects.filter(user=nina).exists()
    assert "Neumann" not in response.content.decode()


def test_given_an_owner_invites_an_existing_account_then_it_is_no_member_until_it_accepts(
    client, owner, nina
):
    response = login(client, owner).post(
        MEMBERS, {"action": "invite", "email": "nina@example.com", "role": "editor"}
    )
    assert response.status_code == 200
    assert not Membership.objects.filter(user=nina).exists()
    assert login(client, MembershipFactory.build(user=nina)).get(MEMBERS).status_code == 404


# --- the same answer whoever the address belongs to --------------------------------------------


def _normalised(html: str, address: str) -> str:
    """The answer with the typed address, the link and the per-request tokens blanked out (a
    member's address in the member list is page content, the same in every answer)."""
    listed = f'data-testid="member-email">{address}<'
    html = html.replace(listed, "\0").replace(address, "ADDRESS").replace("\0", listed)
    html = re.sub(r"/invite/[^/\"]+/", "/invite/TOKEN/", html)
    html = re.sub(r'name="invitation" value="\d+"', 'name="invitation" value="ID"', html)
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", html)


def test_given_unknown_existing_and_member_addresses_when_invited_then_the_answers_are_the_same(
    client, owner, editor, nina, mailoutbox, django_capture_on_commit_callbacks
):
    editor.user.first_name, editor.user.last_name = "Erik", "Editor"
    editor.user.save()
    login(client, owner)
    answers = {}
    with time_machine.travel(NOW, tick=False):
        for address in ("nobody@example.com", "nina@example.com", "editor@example.com"):
            with transaction.atomic():
                with django_capture_on_commit_callbacks(execute=True):
                    response = client.post(
                        MEMBERS, {"action": "invite", "email": address, "role": "manager"}
                    )
                transaction.set_rollback(True)
            html = response.content.decode()
            assert f"Invitation sent to {address}." in html
            assert "Neumann" not in html and "Nina" not in html
            answers[address] = (response.status_code, _normalised(html, address))
    assert len(set(answers.values())) == 1
    assert [m.to for m in mailoutbox] == [
        ["nobody@example.com"],
        ["nina@example.com"],
        ["editor@example.com"],
    ]
    assert Membership.objects.get(pk=editor.pk).role == EDITOR


# --- accepting ----------------------------------------------------------------------------------


def test_given_an_invitation_when_a_logged_in_account_opens_it_then_it_sees_what_and_by_whom(
    client, owner, nina
):
    owner.user.first_name, owner.user.last_name = "Olga", "Owner"
    owner.user.save()
    _invitation, token = invite(owner, role=MANAGER)
    html = login(client, MembershipFactory.build(user=nina)).get(link(token)).content.decode()
    assert "Olga Owner invites you to the workspace “Acme” as Manager." in html
    assert 'data-testid="invitation-accept"' in html
    assert not Membership.objects.filter(user=nina).exists()


def test_given_an_existing_account_when_it_accepts_then_it_joins_with_the_role(client, owner, nina):
    invitation, token = invite(owner, role=MANAGER)
    response = login(client, MembershipFactory.build(user=nina)).post(
        link(token), {"action": "accept"}, follow=True
    )
    assert Membership.objects.get(workspace=owner.workspace, user=nina).role == MANAGER
    assert "Welcome to “Acme”: you joined as Manager." in response.content.decode()
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.state) == (nina, InvitationState.ACCEPTED)


def test_given_another_account_than_the_invited_address_when_it_accepts_then_the_owner_sees_which(
    client, owner
):
    other = UserFactory(username="nina-private", email="nina@private.example")
    _invitation, token = invite(owner, email="nina@work.example")
    login(client, MembershipFactory.build(user=other)).post(link(token), {"action": "accept"})
    assert Membership.objects.filter(workspace=owner.workspace, user=other).exists()
    html = login(client, owner).get(MEMBERS).content.decode()
    assert "Accepted by the account nina-private on" in html
    assert "nina@private.example" in html


def test_given_an_anonymous_visitor_when_accepting_then_sent_to_log_in_and_back(
    client, owner, nina
):
    _invitation, token = invite(owner)
    response = client.post(link(token), {"action": "accept"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?{urlencode({'next': link(token)})}"
    assert not Membership.objects.filter(user=nina).exists()


def test_given_an_anonymous_visitor_when_logging_in_from_the_link_then_back_on_the_invitation(
    client, owner, nina
):
    _invitation, token = invite(owner)
    page = client.get(link(token)).content.decode()
    login_url = f"{reverse('login')}?{urlencode({'next': link(token)})}"
    assert login_url.replace("&", "&amp;") in page or login_url in page
    response = client.post(
        reverse("login"),
        {"username": "nina", "password": "correct horse battery staple", "next": link(token)},
    )
    assert response["Location"] == link(token)
    assert 'data-testid="invitation-accept"' in client.get(link(token)).content.decode()
    assert not Membership.objects.filter(user=nina).exists()


def test_given_a_member_already_when_accepting_then_nothing_changes_and_it_says_so(
    client, owner, editor
):
    _invitation, token = invite(owner, email="someone@example.com", role=MANAGER)
    response = login(client, editor).post(link(token), {"action": "accept"}, follow=True)
    assert "You are a member of “Acme” already (as Editor): nothing changed." in (
        response.content.decode()
    )
    assert Membership.objects.get(pk=editor.pk).role == EDITOR


# --- signing up --------------------------------------------------------------------------------

SIGN_UP = {
    "username": "neu",
    "first_name": "Neo",
    "last_name": "Neuling",
    "password1": "a long and unusual passphrase",
    "password2": "a long and unusual passphrase",
    "email": "attacker@example.com",  # not a field: the account gets the invited address
}


def test_given_no_account_when_signing_up_from_the_link_then_an_account_with_the_address_joins(
    client, owner
):
    _invitation, token = invite(owner, email="neo@example.com", role=VIEWER)
    page = client.get(reverse("invitation_sign_up", args=[token])).content.decode()
    assert 'value="neo@example.com" readonly' in page
    response = client.post(reverse("invitation_sign_up", args=[token]), SIGN_UP)
    assert response.status_code == 302
    user = User.objects.get(username="neu")
    assert (user.email, user.check_password(SIGN_UP["password1"])) == ("neo@example.com", True)
    assert Membership.objects.get(workspace=owner.workspace, user=user).role == VIEWER
    assert client.get(MEMBERS).status_code == 200  # logged in


def test_given_a_taken_username_when_signing_up_then_a_form_error_and_nothing_created(
    client, owner, nina
):
    invitation, token = invite(owner, email="neo@example.com")
    response = client.post(
        reverse("invitation_sign_up", args=[token]), {**SIGN_UP, "username": "NINA"}
    )
    assert response.status_code == 400
    assert "This username is taken." in response.content.decode()
    assert User.objects.filter(username__iexact="nina").count() == 1
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING


def test_given_a_weak_password_when_signing_up_then_the_password_error_and_nothing_created(
    client, owner
):
    _invitation, token = invite(owner, email="neo@example.com")
    response = client.post(
        reverse("invitation_sign_up", args=[token]),
        {**SIGN_UP, "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == 400
    assert not User.objects.filter(username="neu").exists()


def test_given_an_expired_invitation_when_signing_up_then_410_and_no_account(client, owner):
    with time_machine.travel(NOW, tick=False):
        _invitation, token = invite(owner, email="neo@example.com")
    with time_machine.travel(NOW + dt.timedelta(days=8), tick=False):
        response = client.post(reverse("invitation_sign_up", args=[token]), SIGN_UP)
    assert response.status_code == 410
    assert not User.objects.filter(username="neu").exists()


# --- links that cannot be used ------------------------------------------------------------------


def test_given_an_expired_invitation_when_opened_or_accepted_then_410_and_nothing_changes(
    client, owner, nina
):
    with time_machine.travel(NOW, tick=False):
        invitation, token = invite(owner)
    login(client, MembershipFactory.build(user=nina))
    with time_machine.travel(NOW + dt.timedelta(days=7, seconds=1), tick=False):
        opened = client.get(link(token))
        accepted = client.post(link(token), {"action": "accept"})
    assert (opened.status_code, accepted.status_code) == (410, 410)
    assert "This invitation has expired." in accepted.content.decode()
    assert not Membership.objects.filter(user=nina).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_given_an_invitation_just_before_it_expires_when_accepted_then_it_works(owner, nina):
    with time_machine.travel(NOW, tick=False):
        _invitation, token = invite(owner)
    with time_machine.travel(NOW + dt.timedelta(days=7, seconds=-1), tick=False):
        assert svc.invitation_accept(token=token, user=nina).joined


def test_given_a_revoked_invitation_when_accepted_then_410_and_no_member(client, owner, nina):
    invitation, token = invite(owner)
    response = login(client, owner).post(
        MEMBERS, {"action": "revoke_invitation", "invitation": invitation.pk}
    )
    assert response.status_code == 302
    accepted = login(client, MembershipFactory.build(user=nina)).post(
        link(token), {"action": "accept"}
    )
    assert accepted.status_code == 410
    assert "This invitation was withdrawn." in accepted.content.decode()
    assert not Membership.objects.filter(user=nina).exists()
    invitation.refresh_from_db()
    assert invitation.revoked_by == owner.user


def test_given_an_invitation_when_declined_then_nobody_joins_and_the_link_is_used_up(
    client, owner, nina
):
    invitation, token = invite(owner)
    login(client, MembershipFactory.build(user=nina))
    declined = client.post(link(token), {"action": "decline"})
    assert declined.status_code == 200
    assert "You declined the invitation to “Acme”." in declined.content.decode()
    assert client.post(link(token), {"action": "accept"}).status_code == 410
    assert not Membership.objects.filter(user=nina).exists()
    invitation.refresh_from_db()
    assert (invitation.declined_by, invitation.state) == (nina, InvitationState.DECLINED)


def test_given_a_used_link_when_someone_else_accepts_it_then_410_and_they_do_not_join(
    client, owner, nina
):
    _invitation, token = invite(owner)
    svc.invitation_accept(token=token, user=nina)
    mallory = UserFactory(username="mallory")
    response = login(client, MembershipFactory.build(user=mallory)).post(
        link(token), {"action": "accept"}
    )
    assert response.status_code == 410
    assert "This invitation was already accepted." in response.content.decode()
    assert not Membership.objects.filter(user=mallory).exists()


def test_given_a_second_invitation_to_the_same_address_then_it_replaces_the_first(owner, nina):
    first, first_token = invite(owner, role=VIEWER)
    second, second_token = invite(owner, email=" Nina@Example.com ", role=EDITOR)
    with pytest.raises(svc.InvitationGone):
        svc.invitation_accept(token=first_token, user=nina)
    assert svc.invitation_accept(token=second_token, user=nina).membership.role == EDITOR
    first.refresh_from_db()
    assert (first.state, second.email) == (InvitationState.REVOKED, "nina@example.com")


@pytest.mark.parametrize("bad", ["x", "garbage.", "1.abc:def:ghi"])
def test_given_a_malformed_token_then_403_not_500(client, db, bad):
    assert client.get(f"/invite/{bad}/").status_code == 403
    assert client.post(f"/invite/{bad}/", {"action": "accept"}).status_code == 403


def test_given_one_invitations_id_with_another_ones_secret_then_refused(client, owner, nina):
    mine, _token = invite(owner, email="a@example.com")
    invite(MembershipFactory(role=OWNER), email="b@example.com")  # another workspace's
    # A token properly signed by us, for my invitation's id but a secret that is not its own.
    forged = token_sign(salt=svc.INVITATION_SALT, pk=mine.pk, secret="not-the-secret")
    response = login(client, MembershipFactory.build(user=nina)).post(
        link(forged), {"action": "accept"}
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=nina).exists()


def test_given_another_workspaces_invitation_when_revoking_it_then_404_and_unchanged(client, owner):
    theirs, _token = invite(MembershipFactory(role=OWNER), email="b@example.com")
    response = login(client, owner).post(
        MEMBERS, {"action": "revoke_invitation", "invitation": theirs.pk}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == InvitationState.PENDING


def test_given_an_accepted_invitation_when_revoking_it_then_refused_and_unchanged(
    client, owner, nina
):
    invitation, token = invite(owner)
    svc.invitation_accept(token=token, user=nina)
    response = login(client, owner).post(
        MEMBERS, {"action": "revoke_invitation", "invitation": invitation.pk}, follow=True
    )
    assert "can no longer be withdrawn" in response.content.decode()
    invitation.refresh_from_db()
    assert (invitation.revoked_at, invitation.state) == (None, InvitationState.ACCEPTED)


# --- who may invite ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [EDITOR, VIEWER])
def test_given_an_editor_or_viewer_when_inviting_then_refused_and_nothing_sent(
    client, members, role, mailoutbox, django_capture_on_commit_callbacks
):
    with pytest.raises(PermissionDenied):
        invite(members[role], role=VIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, members[role]).post(
            MEMBERS, {"action": "invite", "email": "x@example.com", "role": "viewer"}
        )
    assert response.status_code == 403
    assert "Only managers and owners may invite members." in response.content.decode()
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_given_a_manager_when_inviting_then_up_to_manager_and_never_an_owner(manager):
    """Owners and managers invite; nobody invites to a role above their own."""
    assert invitation_role_refusal(manager, VIEWER) is None
    assert invitation_role_refusal(manager, MANAGER) is None
    with pytest.raises(PermissionDenied) as refused:
        invite(manager, role=OWNER)
    assert str(refused.value) == "You cannot invite someone as Owner: that role is above your own."
    assert not Invitation.objects.exists()
    assert invite(manager, role=MANAGER)[0].role == MANAGER


@pytest.mark.parametrize("email", ["", "not-an-address", "a@" + "b" * 250 + ".de"])
def test_given_a_bad_address_when_inviting_then_an_email_error_and_nothing_sent(owner, email):
    with pytest.raises(ValidationError) as exc:
        invite(owner, email=email)
    assert exc.value.message_dict == {"email": ["Enter a valid e-mail address."]}
    assert not Invitation.objects.exists()


# --- the e-mail and the link --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "role_word", "quoted"),
    [("de", "Redakteur", "„Acme“"), ("en", "Editor", "“Acme”")],
)
def test_given_an_invitation_then_one_email_in_the_workspaces_language_carries_the_link(
    client,
    owner,
    workspace,
    mailoutbox,
    django_capture_on_commit_callbacks,
    language,
    role_word,
    quoted,
):
    workspace.language = language
    workspace.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, owner).post(
            MEMBERS, {"action": "invite", "email": "neo@example.com", "role": "editor"}
        )
    assert 'data-testid="new-invitation-link"' in response.content.decode()
    path = re.search(r"/invite/[^\"/]+/", response.content.decode()).group(0)
    [mail] = mailoutbox
    assert mail.to == ["neo@example.com"]
    assert quoted in mail.subject
    assert path in mail.body and role_word in mail.body


def test_given_the_mail_server_is_down_when_inviting_then_the_link_is_shown_and_never_logged(
    client, owner, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(svc, "send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, owner).post(
            MEMBERS, {"action": "invite", "email": "neo@example.com", "role": "editor"}
        )
    assert response.status_code == 200
    token = re.search(r"/invite/([^\"/]+)/", response.content.decode()).group(1)
    assert "Connection refused" in caplog.text
    assert token not in caplog.text and token.split(":")[0] not in caplog.text
    assert Invitation.objects.get().email == "neo@example.com"


def test_given_an_invitation_then_neither_its_token_nor_secret_is_stored_in_clear(client, owner):
    response = login(client, owner).post(
        MEMBERS, {"action": "invite", "email": "neo@example.com", "role": "editor"}
    )
    token = re.search(r"/invite/([^\"/]+)/", response.content.decode()).group(1)
    secret = token.split(":")[0].split(".", 1)[1]
    stored = " ".join(str(v) for v in Invitation.objects.values().get().values())
    sessions = " ".join(str(s.get_decoded()) + s.session_data for s in Session.objects.all())
    assert secret not in stored and token not in stored
    assert secret not in sessions and token not in sessions


# --- the member page ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "emails", "invites"),
    [(OWNER, True, True), (MANAGER, False, True), (VIEWER, False, False)],
)
def test_given_a_role_when_listing_members_then_emails_only_for_owners(
    client, members, role, emails, invites
):
    html = login(client, members[role]).get(MEMBERS).content.decode()
    assert ("editor@example.com" in html) is emails
    assert ('data-testid="member-email"' in html) is emails
    assert ('data-testid="member-invite-form"' in html) is invites
    assert ('data-testid="invitation-list"' in html or 'data-testid="no-invitations"' in html) is (
        invites
    )


def test_given_an_open_invitation_then_the_owner_sees_it_with_its_expiry_and_a_withdraw_button(
    client, owner
):
    with time_machine.travel(NOW, tick=False):
        invite(owner, email="neo@example.com")
        html = login(client, owner).get(MEMBERS).content.decode()
    assert 'data-state="pending"' in html
    assert "neo@example.com" in html
    berlin = (NOW + dt.timedelta(days=7)).astimezone(owner.workspace.tz)
    assert f"Open until {date_format(berlin, 'SHORT_DATETIME_FORMAT')}" in html
    assert 'data-testid="revoke-invitation"' in html


def test_given_many_members_and_invitations_when_listing_then_the_query_count_stays_fixed(
    client, owner, workspace, django_assert_num_queries
):
    now = timezone.now()
    for _ in range(4):
        user = UserFactory()
        MembershipFactory(workspace=workspace, user=user)
        InvitationFactory(workspace=workspace, invited_by=owner.user)
        InvitationFactory(workspace=workspace, accepted_at=now, accepted_by=user)
        InvitationFactory(workspace=workspace, declined_at=now, declined_by=user)
        InvitationFactory(workspace=workspace, revoked_at=now, revoked_by=owner.user)
    login(client, owner)
    # session + user, membership, my workspaces, unread notifications, members, invitations,
    # locked-out logins
    with django_assert_num_queries(8):
        html = client.get(MEMBERS).content.decode()
    assert html.count('data-testid="invitation-row"') == 16


def test_given_a_manager_when_posting_an_owner_invitation_then_the_form_refuses_it(
    client, manager, mailoutbox
):
    """The form offers a manager only the roles up to their own; a forged "owner" is a form
    error, nothing is sent."""
    response = login(client, manager).post(
        MEMBERS, {"action": "invite", "email": "boss@example.com", "role": OWNER}
    )

    assert response.status_code == 200
    assert not Invitation.objects.exists()
    assert mailoutbox == []
    assert (
        'value="owner"'
        not in response.content.decode().split('data-testid="member-invite-form"')[1]
    )

"""Logins that resist guessing (issue 13): wrong passwords are counted per account and per
address (django-axes); after AXES_FAILURE_LIMIT the account, or the address, is refused for
the cool-off, the right password included, with a page that says why and what to do; a success
resets the count; the owner sees their members' lock-outs; password-reset e-mails are limited
per address and per e-mail address."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.lockouts import lockouts_for_members, sign_in_failures_purge
from calendar_app.models import Role
from tests.conftest import login
from tests.factories import MembershipFactory

PASSWORD = "richtig-2026-Passwort"
LOGIN = "/accounts/login/"


@pytest.fixture
def person(workspace):
    member = MembershipFactory(workspace=workspace, role=Role.EDITOR)
    member.user.set_password(PASSWORD)
    member.user.email = f"{member.user.username}@acme.test"
    member.user.save()
    return member.user


def new_address() -> str:
    """An address no other test used (the counts of an address outlive a test's transaction
    only in Redis; axes' own records roll back)."""
    number = uuid.uuid4().int
    return f"10.{number % 250}.{(number >> 8) % 250}.{(number >> 16) % 250 + 1}"


def attempt(client, username, password, *, address):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_given_the_limit_of_wrong_passwords_then_even_the_right_one_is_refused(
    client, person, settings
):
    address = new_address()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, person.username, "falsch", address=address).status_code == 200

    locked = attempt(client, person.username, "falsch", address=address)
    right = attempt(client, person.username, PASSWORD, address=address)

    assert locked.status_code == 429
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    page = right.content.decode()
    assert "Too many wrong passwords for this account or from this address" in page
    assert "15 minutes" in page and "/accounts/password_reset/" in page
    assert right["Retry-After"] == "900"
    assert PASSWORD not in page


def test_given_an_account_locked_then_another_address_cannot_log_in_to_it_either(
    client, person, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, person.username, "falsch", address=new_address())

    assert attempt(client, person.username, PASSWORD, address=new_address()).status_code == 429


def test_given_an_address_guessing_at_many_accounts_then_the_address_is_locked(
    client, person, settings
):
    address = new_address()
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"someone-{n}", "falsch", address=address)

    assert attempt(client, person.username, PASSWORD, address=address).status_code == 429
    # The account itself is not locked: from elsewhere its owner logs in.
    assert attempt(client, person.username, PASSWORD, address=new_address()).status_code == 302


def test_given_the_cool_off_passed_then_the_right_password_logs_in(client, person, settings):
    address = new_address()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, person.username, "falsch", address=address)

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=5)):
        response = attempt(client, person.username, PASSWORD, address=address)

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(person.pk)


def test_given_a_success_then_the_count_starts_again(client, person, settings):
    address = new_address()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, person.username, "falsch", address=address)
    assert attempt(client, person.username, PASSWORD, address=address).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, person.username, "falsch", address=address)
    assert attempt(client, person.username, PASSWORD, address=address).status_code == 302


def test_the_lockout_page_speaks_german(client, person, settings):
    person.language = "de"
    person.save()
    address = new_address()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, person.username, "falsch", address=address)

    response = client.post(
        LOGIN,
        {"username": person.username, "password": PASSWORD},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="de",
    )

    assert "Zu viele falsche Passwörter" in response.content.decode()


# --- what the owner sees -------------------------------------------------------------------------


def test_given_a_members_login_was_locked_then_the_owner_sees_it_and_no_one_else(
    client, person, members, settings
):
    address = new_address()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, person.username, "falsch", address=address)
    attempt(client, "not-a-member", "falsch", address=new_address())

    page = login(client, members[Role.OWNER]).get("/w/acme/settings/members/").content.decode()
    assert 'data-testid="lockouts"' in page and address in page
    assert "not-a-member" not in page
    for role in (Role.MANAGER, Role.EDITOR):
        other = login(client, members[role]).get("/w/acme/settings/members/").content.decode()
        assert address not in other and "Locked-out logins" not in other


def test_lockouts_of_another_workspaces_members_are_not_listed(person, other_workspace, settings):
    stranger = MembershipFactory(workspace=other_workspace).user
    from axes.models import AccessFailureLog

    AccessFailureLog.objects.create(
        username=stranger.username, ip_address="10.0.0.9", user_agent="x", locked_out=True
    )

    assert lockouts_for_members([person.username], [person.email]) == []


def test_a_lockout_by_e_mail_address_is_the_members_too(person):
    from axes.models import AccessFailureLog

    AccessFailureLog.objects.create(
        username=person.email.upper(), ip_address="10.0.0.9", user_agent="x", locked_out=True
    )

    assert [lo.username for lo in lockouts_for_members([person.username], [person.email])] == [
        person.email.upper()
    ]


def test_failure_records_older_than_30_days_are_purged(person):
    from axes.models import AccessFailureLog

    old = AccessFailureLog.objects.create(username=person.username, ip_address="10.0.0.9")
    AccessFailureLog.objects.filter(pk=old.pk).update(
        attempt_time=timezone.now() - dt.timedelta(days=31)
    )
    AccessFailureLog.objects.create(username=person.username, ip_address="10.0.0.9")

    assert sign_in_failures_purge() == 1
    assert AccessFailureLog.objects.count() == 1


# --- password reset ------------------------------------------------------------------------------


def test_given_too_many_reset_requests_from_an_address_then_refused_and_no_mail(
    client, person, settings
):
    address = new_address()
    for n in range(settings.PASSWORD_RESET_PER_HOUR):
        response = client.post(
            "/accounts/password_reset/",
            {"email": f"{uuid.uuid4().hex}@x.test"},
            REMOTE_ADDR=address,
        )
        assert response.status_code == 302, n
    mail.outbox.clear()

    refused = client.post("/accounts/password_reset/", {"email": person.email}, REMOTE_ADDR=address)

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many password reset requests" in refused.content.decode()
    assert mail.outbox == []


def test_given_too_many_reset_requests_for_one_e_mail_address_then_refused_from_anywhere(
    client, person, settings
):
    email = f"{uuid.uuid4().hex}@acme.test"
    person.email = email
    person.save()
    for _ in range(settings.PASSWORD_RESET_PER_HOUR):
        client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=new_address())
    assert len(mail.outbox) == settings.PASSWORD_RESET_PER_HOUR
    mail.outbox.clear()

    refused = client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=new_address())

    assert refused.status_code == 429 and mail.outbox == []

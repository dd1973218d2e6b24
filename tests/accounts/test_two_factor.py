"""Two-factor authentication: setting up an authenticator app, the login's code step with app
and recovery codes, the security page, and workspaces that require it of their members."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from base64 import b32decode, b32encode

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from django_otp.models import Device
from django_otp.oath import totp

from accounts import two_factor
from accounts.encryption import SecretUnreadable
from accounts.models import (
    AuthenticatorDevice,
    RecoveryCode,
    RecoveryCodeDevice,
    recovery_code_digest,
)
from calendar_app.models import Role
from calendar_app.permissions import Action, can
from calendar_app.services import workspaces as workspace_services
from tests.conftest import login
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

T0 = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"  # the factories' password


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def code_of(device: AuthenticatorDevice) -> str:
    """What the authenticator app shows now (time_machine moves time.time() too)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def wrong_code_of(device: AuthenticatorDevice) -> str:
    """Six digits the app does not show now, nor one time step before or after (the tolerance)."""
    valid = {
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=d):06d}"
        for d in (-1, 0, 1)
    }
    return next(c for c in (f"{n:06d}" for n in range(10)) if c not in valid)


def enrol(user) -> tuple[AuthenticatorDevice, list[str]]:
    """Set up two-factor authentication for `user` through the services."""
    device = two_factor.two_factor_setup_start(user=user)
    return two_factor.two_factor_setup_confirm(user=user, code=code_of(device))


def next_step(clock) -> None:
    # A code is accepted once: the next one the app shows comes 30 seconds later.
    clock.shift(dt.timedelta(seconds=30))


def password_login(client, user, next_url: str = ""):
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def settings_url(slug: str) -> str:
    return reverse("calendar:settings", args=[slug])


# --- setup ------------------------------------------------------------------------------------


def test_given_no_two_factor_when_the_security_page_opens_then_it_offers_the_setup(client, editor):
    page = login(client, editor).get(reverse("account_security"))
    assert page.status_code == 200
    assert 'data-testid="two-factor-start"' in page.text
    assert 'data-testid="two-factor-secret"' not in page.text


def test_given_a_started_setup_when_the_page_opens_then_it_shows_the_qr_code_and_the_secret(
    client, editor
):
    login(client, editor).post(reverse("account_two_factor_start"))
    page = client.get(reverse("account_security"))
    device = AuthenticatorDevice.objects.get(user=editor.user)
    secret = b32encode(device.bin_key).decode()
    assert not device.confirmed
    assert re.search(
        r'<img src="data:image/svg\+xml;charset=utf-8,[^"]+"[^>]*two-factor-qr', page.text
    )
    shown = re.search(r'data-testid="two-factor-secret">([^<]+)<', page.text).group(1)
    assert shown.replace(" ", "") == secret
    assert "no-store" in page["Cache-Control"]


def test_given_a_started_setup_when_the_first_code_is_right_then_it_is_on_with_ten_recovery_codes(
    client, editor, clock
):
    login(client, editor).post(reverse("account_two_factor_start"))
    device = AuthenticatorDevice.objects.get(user=editor.user)

    response = client.post(reverse("account_two_factor_confirm"), {"code": code_of(device)})

    assert response.status_code == 200
    codes = re.findall(r'data-testid="recovery-code">(\w+)<', response.text)
    assert len(codes) == 10 == len(set(codes))
    assert sorted(recovery_code_digest(code) for code in codes) == sorted(
        RecoveryCode.objects.filter(device__user=editor.user).values_list("digest", flat=True)
    )
    device.refresh_from_db()
    assert device.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id  # verified


def test_given_two_factor_on_when_the_security_page_opens_then_no_secret_nor_code_is_shown(
    client, editor, clock
):
    device, codes = enrol(editor.user)
    page = login(client, editor).get(reverse("account_security"))
    assert 'data-testid="two-factor-on"' in page.text
    assert "10 recovery codes are left." in page.text
    assert "data:image/svg" not in page.text
    secret = b32encode(device.bin_key).decode()
    assert secret not in page.text.replace(" ", "")
    assert device.key not in page.text
    assert not any(code in page.text for code in codes)


def test_given_a_started_setup_when_the_code_is_wrong_then_it_says_so_and_stays_off(
    client, editor, clock
):
    login(client, editor).post(reverse("account_two_factor_start"))
    device = AuthenticatorDevice.objects.get(user=editor.user)
    wrong = wrong_code_of(device)

    response = client.post(reverse("account_two_factor_confirm"), {"code": wrong})

    assert response.status_code == 400
    assert "This code is not correct." in response.text
    assert not two_factor.two_factor_enabled(editor.user)
    assert not RecoveryCode.objects.exists()
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_given_a_setup_when_it_happens_then_the_secret_is_never_logged(editor, clock, caplog):
    with caplog.at_level(logging.DEBUG):
        device, codes = enrol(editor.user)
    secret = b32encode(device.bin_key).decode()
    assert device.key not in caplog.text and secret not in caplog.text
    assert not any(code in caplog.text for code in codes)


# --- secrets at rest -------------------------------------------------------------------------

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_rows(table: str) -> str:
    """Every stored value of `table`, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


def secrets_of(device: AuthenticatorDevice, codes: list[str]) -> list[str]:
    """The secrets as they could leak: the hex key, its base32 form (the QR code's), the codes."""
    key = b32encode(device.bin_key).decode()
    return [device.key, device.key.upper(), key, key.lower(), *codes, *map(str.upper, codes)]


def test_given_an_authenticator_app_when_stored_then_its_key_is_ciphertext_only(editor, clock):
    device, _codes = enrol(editor.user)

    stored = raw_rows("accounts_authenticatordevice")

    assert re.fullmatch(r"[0-9a-f]{40}", device.key)  # the plain key, in memory
    assert device.key_ciphertext in stored
    assert not any(secret in stored for secret in secrets_of(device, []))


def test_given_recovery_codes_when_stored_then_only_their_keyed_hashes_are(editor, clock):
    _device, codes = enrol(editor.user)

    stored = raw_rows("accounts_recoverycode")

    assert len(codes) == 10
    assert not any(code in stored for code in codes + [c.upper() for c in codes])
    assert all(recovery_code_digest(code) in stored for code in codes)


def test_given_the_secret_shown_at_setup_when_its_code_comes_after_a_reload_then_it_verifies(
    client, editor, clock
):
    login(client, editor).post(reverse("account_two_factor_start"))
    page = client.get(reverse("account_security"))
    shown = re.search(r'data-testid="two-factor-secret">([^<]+)<', page.text).group(1)
    real_key = b32decode(shown.replace(" ", ""))  # what the person typed into their app

    def app_code() -> str:
        return f"{totp(real_key):06d}"

    client.post(reverse("account_two_factor_confirm"), {"code": app_code()})
    next_step(clock)

    device = AuthenticatorDevice.objects.get(user=editor.user)  # fresh from the database
    assert device.confirmed
    assert two_factor.two_factor_verify(user=editor.user, code=app_code()) == device


def test_given_an_accepted_app_code_when_it_comes_again_then_it_is_refused(editor, clock):
    device, _codes = enrol(editor.user)
    next_step(clock)
    code = code_of(device)
    two_factor.two_factor_verify(user=editor.user, code=code)

    clock.shift(dt.timedelta(seconds=5))  # the same time step: the app still shows it
    with pytest.raises(ValidationError, match="This code is not correct"):
        two_factor.two_factor_verify(user=editor.user, code=code)
    device.refresh_from_db()
    assert device.last_t == int(T0.timestamp() + 30) // 30


def test_given_a_new_first_key_when_rotate_credentials_runs_then_two_factor_keeps_working(
    client, editor, clock
):
    with override_settings(CREDENTIALS_KEYS=[OLD_KEY]):
        device, _codes = enrol(editor.user)
        before = device.key_ciphertext
        plain = device.key

    with override_settings(CREDENTIALS_KEYS=[NEW_KEY, OLD_KEY]):
        out = io.StringIO()
        call_command("rotate_credentials", stdout=out)

    assert "Re-encrypted 1 secret(s)" in out.getvalue()
    device.refresh_from_db()
    assert device.key_ciphertext != before
    with override_settings(CREDENTIALS_KEYS=[NEW_KEY]):  # the old key can now be dropped
        assert device.key == plain
        next_step(clock)
        password_login(client, editor.user)
        response = client.post(reverse("login_code"), {"code": code_of(device)})
    assert response.status_code == 302
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_given_keys_without_the_one_used_when_a_code_comes_then_a_clear_error_and_recovery_works(
    client, editor, clock, caplog
):
    with override_settings(CREDENTIALS_KEYS=[OLD_KEY]):
        device, codes = enrol(editor.user)
        next_step(clock)
        app_code = code_of(device)

    with override_settings(CREDENTIALS_KEYS=[NEW_KEY]):
        with pytest.raises(SecretUnreadable, match="CREDENTIALS_KEYS"):
            _ = AuthenticatorDevice.objects.get(pk=device.pk).bin_key
        password_login(client, editor.user)
        refused = client.post(reverse("login_code"), {"code": app_code})
        assert refused.status_code == 400
        assert "Codes from your authenticator app cannot be checked at the moment." in (
            refused.text
        )
        assert "cannot be decrypted with the configured CREDENTIALS_KEYS" in caplog.text
        # The recovery codes do not depend on those keys.
        assert client.post(reverse("login_code"), {"code": codes[0]}).status_code == 302


def test_given_setup_and_logins_when_sql_is_logged_too_then_no_secret_is_in_the_logs(
    client, editor, clock, caplog
):
    sql = caplog.at_level(logging.DEBUG, logger="django.db.backends")
    with caplog.at_level(logging.DEBUG), sql, CaptureQueriesContext(connection):  # SQL logged
        login(client, editor).post(reverse("account_two_factor_start"))
        client.get(reverse("account_security"))  # the secret and the QR code, shown once
        device = AuthenticatorDevice.objects.get(user=editor.user)
        confirmed = client.post(reverse("account_two_factor_confirm"), {"code": code_of(device)})
        codes = re.findall(r'data-testid="recovery-code">(\w+)<', confirmed.text)
        client.logout()
        next_step(clock)
        password_login(client, editor.user)
        assert client.post(reverse("login_code"), {"code": code_of(device)}).status_code == 302
        client.logout()
        password_login(client, editor.user)
        assert client.post(reverse("login_code"), {"code": codes[0]}).status_code == 302

    assert "accounts_authenticatordevice" in caplog.text  # the SQL was logged
    assert len(codes) == 10
    assert not any(secret in caplog.text for secret in secrets_of(device, codes))


def test_given_two_factor_on_when_the_admin_opens_the_devices_then_no_key_nor_code_shows(
    client, editor, clock
):
    device, codes = enrol(editor.user)
    recovery = RecoveryCodeDevice.objects.get(user=editor.user)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    pages = [
        client.get(reverse("admin:accounts_authenticatordevice_changelist")),
        client.get(reverse("admin:accounts_authenticatordevice_change", args=[device.pk])),
        client.get(reverse("admin:accounts_recoverycodedevice_changelist")),
        client.get(reverse("admin:accounts_recoverycodedevice_change", args=[recovery.pk])),
        client.get(reverse("admin:accounts_recoverycode_changelist")),
    ]

    hidden = [*secrets_of(device, codes), device.key_ciphertext, recovery_code_digest(codes[0])]
    for page in pages:
        assert page.status_code == 200
        assert not any(secret in page.text for secret in hidden)


def test_given_our_devices_when_django_otp_looks_them_up_then_it_finds_them(editor, clock):
    device, _codes = enrol(editor.user)
    recovery = RecoveryCodeDevice.objects.get(user=editor.user)

    assert set(devices_for_user(editor.user)) == {device, recovery}
    assert device.persistent_id == f"accounts.authenticatordevice/{device.pk}"
    assert Device.from_persistent_id(device.persistent_id) == device
    assert Device.from_persistent_id(recovery.persistent_id) == recovery


# --- login ------------------------------------------------------------------------------------


def test_given_no_two_factor_when_the_password_is_right_then_logged_in_at_once(client, editor):
    response = password_login(client, editor.user)
    assert response.status_code == 302
    assert response["Location"] == reverse("calendar:home")
    assert client.session["_auth_user_id"] == str(editor.user.pk)


def test_given_two_factor_on_when_the_password_is_right_then_the_code_step_comes_first(
    client, editor, clock
):
    enrol(editor.user)
    response = password_login(client, editor.user)
    assert response["Location"] == reverse("login_code")
    assert "_auth_user_id" not in client.session  # not logged in before the code
    page = client.get(reverse("calendar:workspace_home", args=["acme"]))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


def test_given_the_code_step_when_the_app_code_is_right_then_logged_in_and_verified(
    client, editor, clock
):
    device, _codes = enrol(editor.user)
    next_step(clock)
    password_login(client, editor.user, next_url="/w/acme/month/")

    response = client.post(reverse("login_code"), {"code": code_of(device)})

    assert response.status_code == 302 and response["Location"] == "/w/acme/month/"
    assert client.session["_auth_user_id"] == str(editor.user.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_given_the_code_step_when_the_code_is_wrong_then_it_says_so_and_nobody_is_logged_in(
    client, editor, clock
):
    device, _codes = enrol(editor.user)
    next_step(clock)
    password_login(client, editor.user)
    wrong = wrong_code_of(device)

    response = client.post(reverse("login_code"), {"code": wrong})

    assert response.status_code == 400
    assert "This code is not correct." in response.text
    assert "_auth_user_id" not in client.session


def test_given_the_code_step_when_a_code_was_already_used_then_it_is_refused(client, editor, clock):
    device, _codes = enrol(editor.user)  # the code of this time step confirmed the setup
    password_login(client, editor.user)
    response = client.post(reverse("login_code"), {"code": code_of(device)})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_given_a_wrong_code_when_another_comes_at_once_then_it_asks_to_wait(client, editor, clock):
    device, _codes = enrol(editor.user)
    next_step(clock)
    password_login(client, editor.user)
    client.post(
        reverse("login_code"), {"code": wrong_code_of(device)}
    )  # django-otp: the wait doubles each time

    response = client.post(reverse("login_code"), {"code": code_of(device)})

    assert response.status_code == 400
    assert "Too many wrong codes. Wait 1 second, then try again." in response.text
    clock.shift(dt.timedelta(seconds=1))
    assert client.post(reverse("login_code"), {"code": code_of(device)}).status_code == 302


def test_given_the_code_step_when_a_recovery_code_is_given_then_logged_in_and_it_is_used_up(
    client, editor, clock
):
    _device, codes = enrol(editor.user)

    password_login(client, editor.user)
    response = client.post(reverse("login_code"), {"code": codes[0].upper()})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(editor.user.pk)
    assert "9 recovery codes are left" in " ".join(messages_of(response))
    assert RecoveryCode.objects.filter(device__user=editor.user).count() == 9


def test_given_a_used_recovery_code_when_it_is_given_again_then_it_is_refused(
    client, editor, clock
):
    _device, codes = enrol(editor.user)
    password_login(client, editor.user)
    client.post(reverse("login_code"), {"code": codes[0]})
    client.logout()

    password_login(client, editor.user)
    response = client.post(reverse("login_code"), {"code": codes[0]})

    assert response.status_code == 400
    assert "This recovery code is not correct or was already used" in response.text
    assert "_auth_user_id" not in client.session


def test_given_no_password_step_when_the_code_step_opens_then_it_sends_back_to_login(client, db):
    response = client.get(reverse("login_code"))
    assert response.status_code == 302 and response["Location"] == reverse("login")


def test_given_a_password_step_too_long_ago_when_the_code_comes_then_login_starts_again(
    client, editor, clock, settings
):
    device, _codes = enrol(editor.user)
    password_login(client, editor.user)
    clock.shift(dt.timedelta(seconds=settings.TWO_FACTOR_LOGIN_SECONDS + 1))
    response = client.post(reverse("login_code"), {"code": code_of(device)})
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


# --- the security page: confirm a session, new recovery codes, off --------------------------------


def test_given_recovery_codes_when_new_ones_are_made_then_the_old_ones_stop_working(
    client, editor, clock
):
    _device, old = enrol(editor.user)
    response = login(client, editor).post(reverse("account_recovery_codes"), {"password": PASSWORD})
    new = re.findall(r'data-testid="recovery-code">(\w+)<', response.text)
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(ValidationError):
        two_factor.two_factor_verify(user=editor.user, code=old[1])
    clock.shift(dt.timedelta(seconds=1))  # the wrong code's wait
    assert two_factor.two_factor_verify(user=editor.user, code=new[1])


def test_given_a_wrong_password_when_turning_off_then_it_stays_on(client, editor, clock):
    enrol(editor.user)
    response = login(client, editor).post(
        reverse("account_two_factor_disable"), {"password": "wrong"}
    )
    assert response.status_code == 400
    assert "The password is not correct." in response.text
    assert two_factor.two_factor_enabled(editor.user)


def test_given_the_password_when_turning_off_then_the_app_and_the_codes_are_forgotten(
    client, editor, clock
):
    enrol(editor.user)
    response = login(client, editor).post(
        reverse("account_two_factor_disable"), {"password": PASSWORD}
    )
    assert response.status_code == 302
    assert not AuthenticatorDevice.objects.filter(user=editor.user).exists()
    assert not RecoveryCode.objects.exists()
    assert password_login(client, editor.user)["Location"] == reverse("calendar:home")


# --- workspaces that require it -------------------------------------------------------------------


@pytest.fixture
def strict(workspace):
    workspace.two_factor_required = True
    workspace.save(update_fields=["two_factor_required"])
    return workspace


def test_given_a_strict_workspace_when_an_unenrolled_member_opens_it_then_they_are_sent_to_setup(
    client, editor, strict
):
    page = reverse("calendar:month_current", args=["acme"])
    response = login(client, editor).get(page)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_security')}?next=%2Fw%2Facme%2Fmonth%2F"
    assert messages_of(response) == [
        "Acme requires two-factor authentication: set it up to open the workspace's pages."
    ]


def test_given_a_strict_workspace_when_a_fragment_is_asked_for_then_htmx_is_told_to_redirect(
    client, editor, strict
):
    response = login(client, editor).get(
        reverse("calendar:review_count", args=["acme"]), headers={"HX-Request": "true"}
    )
    assert response["HX-Redirect"].startswith(reverse("account_security"))


def test_given_a_strict_workspace_when_the_member_has_another_then_the_other_stays_open(
    client, editor, strict
):
    other = WorkspaceFactory(name="Relaxed", slug="relaxed")
    MembershipFactory(workspace=other, user=editor.user, role=Role.EDITOR)
    response = login(client, editor).get(reverse("calendar:month_current", args=["relaxed"]))
    assert response.status_code == 200


def test_given_a_strict_workspace_when_an_enrolled_member_has_an_unverified_session_then_asked(
    client, editor, strict, clock
):
    device, _codes = enrol(editor.user)
    page = reverse("calendar:month_current", args=["acme"])
    response = login(client, editor).get(page)  # force_login: the password alone
    assert response.status_code == 302
    assert messages_of(response) == [
        "Acme requires two-factor authentication: enter a code from your authenticator app to "
        "confirm this session."
    ]
    security = client.get(response["Location"])
    assert 'data-testid="two-factor-verify"' in security.text

    next_step(clock)
    confirmed = client.post(
        reverse("account_two_factor_verify"), {"code": code_of(device), "next": page}
    )
    assert confirmed["Location"] == page
    assert client.get(page).status_code == 200


def test_given_a_strict_workspace_when_the_member_logged_in_with_a_code_then_it_opens(
    client, editor, strict, clock
):
    device, _codes = enrol(editor.user)
    next_step(clock)
    password_login(client, editor.user)
    client.post(reverse("login_code"), {"code": code_of(device)})
    assert client.get(reverse("calendar:month_current", args=["acme"])).status_code == 200


def test_given_a_strict_workspace_when_setup_finishes_then_the_member_goes_back_to_it(
    client, editor, strict, clock
):
    page = reverse("calendar:month_current", args=["acme"])
    login(client, editor).post(reverse("account_two_factor_start"), {"next": page})
    device = AuthenticatorDevice.objects.get(user=editor.user)
    done = client.post(
        reverse("account_two_factor_confirm"), {"code": code_of(device), "next": page}
    )
    assert f'href="{page}"' in done.text
    assert client.get(page).status_code == 200


def test_given_a_strict_workspace_when_an_external_reviewer_opens_a_link_then_it_works(
    client, manager, channel, strict
):
    from calendar_app.services.review.external import review_link_create
    from tests.calendar_app.review.test_approval_services import NOW, new_post

    with time_machine.travel(NOW, tick=False):
        post = new_post(manager, channel)
        _link, token = review_link_create(
            membership=manager,
            post_ids=[post.pk],
            recipient_name="Clara Client",
            recipient_email="clara@client.example",
        )
        opened = client.get(reverse("external_review", args=[token]))
        assert opened.status_code == 303
        assert client.get(opened["Location"]).status_code == 200


# --- the switch -----------------------------------------------------------------------------------


def settings_data(workspace, **changes) -> dict:
    data = {"name": workspace.name, "timezone": workspace.timezone, "language": workspace.language}
    return {**data, **changes}


@pytest.mark.parametrize("role", list(Role))
def test_given_a_role_when_asked_who_may_require_two_factor_then_owners_only(members, role):
    assert can(members[role], Action.TWO_FACTOR_REQUIRE) is (role == Role.OWNER)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EDITOR, Role.VIEWER])
def test_given_a_non_owner_when_they_switch_it_on_then_refused(members, workspace, role, clock):
    enrol(members[role].user)
    with pytest.raises(PermissionDenied):
        workspace_services.workspace_update(
            membership=members[role], **settings_data(workspace, two_factor_required=True)
        )
    workspace.refresh_from_db()
    assert not workspace.two_factor_required


def test_given_an_owner_without_two_factor_when_they_switch_it_on_then_asked_to_set_it_up(
    owner, workspace
):
    with pytest.raises(ValidationError) as refused:
        workspace_services.workspace_update(
            membership=owner, **settings_data(workspace, two_factor_required=True)
        )
    assert "two_factor_required" in refused.value.error_dict
    workspace.refresh_from_db()
    assert not workspace.two_factor_required


def test_given_an_owner_with_two_factor_when_they_switch_it_on_in_the_settings_then_saved(
    client, owner, workspace, clock
):
    device, _codes = enrol(owner.user)
    next_step(clock)
    password_login(client, owner.user)
    client.post(reverse("login_code"), {"code": code_of(device)})

    response = client.post(settings_url("acme"), settings_data(workspace, two_factor_required="on"))

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.two_factor_required
    assert client.get(settings_url("acme")).status_code == 200  # the owner is not locked out


def test_given_a_manager_when_they_post_the_switch_in_the_settings_then_refused(
    client, manager, workspace
):
    response = login(client, manager).post(
        settings_url("acme"), settings_data(workspace, two_factor_required="on")
    )
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert not workspace.two_factor_required


def test_given_other_settings_when_saved_without_the_switch_then_it_stays_as_it_was(
    owner, workspace
):
    workspace_services.workspace_update(membership=owner, **settings_data(workspace, name="Acme 2"))
    workspace.refresh_from_db()
    assert workspace.name == "Acme 2" and not workspace.two_factor_required


def test_given_the_settings_page_when_the_owner_opens_it_then_the_switch_is_there(client, owner):
    page = login(client, owner).get(settings_url("acme"))
    assert "Members must use two-factor authentication" in page.text


def test_given_two_users_when_one_enrols_then_the_other_keeps_logging_in_with_the_password(
    client, editor, clock
):
    enrol(editor.user)
    other = UserFactory(username="plain")
    assert password_login(client, other)["Location"] == reverse("calendar:home")


def test_given_a_german_member_when_the_setup_page_opens_then_it_speaks_german(client, editor):
    editor.user.language = "de"
    editor.user.save(update_fields=["language"])
    login(client, editor).post(reverse("account_two_factor_start"))
    page = client.get(reverse("account_security"))
    assert "Authenticator-App einrichten" in page.text
    assert "Code aus Ihrer Authenticator-App" in page.text


def test_given_the_admin_login_when_opened_then_it_is_our_login_with_the_code_step(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/admin/"


def test_given_a_strict_workspace_when_the_session_is_unverified_then_its_notifications_hide(
    client, editor, strict, clock
):
    """The bell, the dropdown, the list and "open" show nothing of a workspace the session may
    not open (a comment's text, a post's title), and everything once the session is verified."""
    from notifications.models import Notification

    elsewhere = WorkspaceFactory(slug="elsewhere", name="Elsewhere")
    MembershipFactory(workspace=elsewhere, user=editor.user, role=Role.EDITOR)
    secret = Notification.objects.create(
        recipient=editor.user, workspace=strict, kind="commented", params={"post": "Geheimpreis"}
    )
    Notification.objects.create(
        recipient=editor.user, workspace=elsewhere, kind="commented", params={"post": "Offen"}
    )
    device, _codes = enrol(editor.user)
    login(client, editor)  # the password alone

    listing = client.get(reverse("notifications:list")).text
    menu = client.get(reverse("notifications:menu")).text
    opened = client.post(reverse("notifications:open", args=[secret.pk]))
    assert "Offen" in listing and "Geheimpreis" not in listing
    assert "Geheimpreis" not in menu
    assert opened.status_code == 404

    next_step(clock)
    client.post(reverse("account_two_factor_verify"), {"code": code_of(device)})
    assert "Geheimpreis" in client.get(reverse("notifications:list")).text

"""Single sign-on over OpenID Connect, end to end against a real provider: django-oauth-toolkit
in OIDC mode, started for this module in a subprocess (tests.oidc_provider). Our app sends the
test client to the provider, a requests session logs in at the provider's form, and our
callback exchanges the code at the provider's token endpoint and checks the ID token's
signature with the provider's published keys (JWKS), all over real HTTP.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django_otp.oath import totp

from accounts import two_factor
from accounts.models import User
from accounts.oidc import SSOBackend
from accounts.sso import SSO_BACKEND, SSO_SESSION_KEY
from calendar_app.models import Role
from calendar_app.permissions import Action, can
from calendar_app.services import workspaces as workspace_services
from tests.factories import MembershipFactory, UserFactory
from tests.oidc_provider.server import OIDCProvider

pytestmark = [pytest.mark.real_server, pytest.mark.xdist_group("oidc_provider")]

REDIRECT_URI = "http://testserver/oidc/callback/"  # what the provider has registered for us
PROVIDER_NAME = "Test Identity"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with OIDCProvider(tmp_path_factory.mktemp("oidc-provider"), redirect_uri=REDIRECT_URI) as op:
        yield op


@pytest.fixture
def sso(provider, settings, db):
    """Our app configured for the provider, as the OIDC_* environment variables would."""
    settings.OIDC_RP_CLIENT_ID = provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.OIDC_OP_DISCOVERY_URL = provider.discovery_url
    settings.OIDC_PROVIDER_NAME = PROVIDER_NAME
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]
    return settings


@pytest.fixture
def alice(db):
    # The same address as the provider's alice, in other letter case: matched all the same.
    return UserFactory(username="alice", email="Alice@example.test")


def sign_in_with_sso(client, provider, username: str, *, next_url: str = "", follow=False):
    """Press "Sign in with ..." on our login page, log in as `username` at the provider, and
    come back to our callback with the provider's code."""
    start = client.get(reverse("oidc_authentication_init"), {"next": next_url} if next_url else {})
    assert start.status_code == 302
    assert start["Location"].startswith(provider.issuer + "/authorize/")
    callback = urlsplit(provider.sign_in(start["Location"], username))
    return client.get(f"{callback.path}?{callback.query}", follow=follow)


def page_messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


# --- signing in -------------------------------------------------------------------------------


def test_given_a_verified_address_of_an_account_when_signing_in_then_logged_in_as_it(
    client, sso, provider, alice, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    keys_used = []
    retrieve = SSOBackend.retrieve_matching_jwk
    # A spy, not a stand-in: the real lookup runs, and the test sees it was the provider's key.
    monkeypatch.setattr(
        SSOBackend,
        "retrieve_matching_jwk",
        lambda self, token: keys_used.append(retrieve(self, token)) or keys_used[-1],
    )

    response = sign_in_with_sso(client, provider, "alice", next_url="/accounts/security/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/security/"
    assert client.session[SESSION_KEY] == str(alice.pk)
    assert client.session[BACKEND_SESSION_KEY] == SSO_BACKEND
    assert client.session[SSO_SESSION_KEY] == alice.pk
    # Neither the provider's tokens nor our client secret are kept or logged.
    assert not {"oidc_access_token", "oidc_id_token"} & set(client.session.keys())
    assert provider.client_secret not in caplog.text
    published = requests.get(f"{provider.issuer}/.well-known/jwks.json", timeout=5).json()
    assert [key.key_id for key in keys_used] == [published["keys"][0]["kid"]]


def test_given_an_address_the_provider_did_not_verify_when_signing_in_then_refused(
    client, sso, provider
):
    UserFactory(username="bob", email="bob@example.test")

    response = sign_in_with_sso(client, provider, "bob", follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert SESSION_KEY not in client.session
    assert (
        f"{PROVIDER_NAME} has not verified your e-mail address bob@example.test"
        in page_messages(response)
    )


def test_given_an_unknown_verified_address_when_signing_in_then_refused_as_accounts_come_from_invitations(
    client, sso, provider
):
    response = sign_in_with_sso(client, provider, "carol", follow=True)

    assert SESSION_KEY not in client.session
    assert "No account here uses the e-mail address carol@example.test" in page_messages(response)
    assert not User.objects.filter(email__iexact="carol@example.test").exists()


def test_given_account_creation_on_when_an_unknown_verified_address_signs_in_then_an_account_is_made(
    client, sso, provider
):
    sso.OIDC_CREATE_USERS = True

    response = sign_in_with_sso(client, provider, "carol")

    assert response.status_code == 302
    carol = User.objects.get(email="carol@example.test")
    assert (carol.username, carol.first_name) == ("carol", "Carol")
    assert not carol.has_usable_password()
    assert client.session[SESSION_KEY] == str(carol.pk)


def test_given_the_provider_refuses_the_code_when_our_callback_exchanges_it_then_a_message_not_an_error(
    client, sso, provider, alice
):
    start = client.get(reverse("oidc_authentication_init"))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = client.get(
        reverse("oidc_authentication_callback"), {"code": "made-up", "state": state}, follow=True
    )

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert f"{PROVIDER_NAME} could not be reached" in page_messages(response)


def test_given_the_endpoints_set_one_by_one_when_signing_in_then_no_discovery_is_needed(
    client, sso, provider, alice
):
    sso.OIDC_OP_DISCOVERY_URL = ""
    sso.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.issuer}/authorize/"
    sso.OIDC_OP_TOKEN_ENDPOINT = f"{provider.issuer}/token/"
    sso.OIDC_OP_USER_ENDPOINT = f"{provider.issuer}/userinfo/"
    sso.OIDC_OP_JWKS_ENDPOINT = f"{provider.issuer}/.well-known/jwks.json"

    sign_in_with_sso(client, provider, "alice")

    assert client.session[SESSION_KEY] == str(alice.pk)


# --- two-factor authentication ----------------------------------------------------------------


def _code(device, *, drift: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


def _enrol(user):
    device = two_factor.two_factor_setup_start(user=user)
    return two_factor.two_factor_setup_confirm(user=user, code=_code(device))[0]


def test_given_two_factor_on_when_signing_in_with_sso_then_the_code_step_comes_before_the_login(
    client, sso, provider, alice
):
    device = _enrol(alice)

    response = sign_in_with_sso(client, provider, "alice")

    assert response["Location"] == reverse("login_code")
    assert SESSION_KEY not in client.session
    # The next time step's code (the one used to enrol is spent; one step of drift is allowed).
    client.post(reverse("login_code"), {"code": _code(device, drift=1)})
    assert client.session[SESSION_KEY] == str(alice.pk)
    assert client.session[SSO_SESSION_KEY] == alice.pk


def test_given_sso_counts_as_two_factor_when_signing_in_then_a_two_factor_workspace_opens(
    client, sso, provider, alice, workspace
):
    sso.OIDC_COUNTS_AS_TWO_FACTOR = True
    _enrol(alice)
    MembershipFactory(workspace=workspace, user=alice, role=Role.EDITOR)
    workspace.two_factor_required = True
    workspace.save(update_fields=["two_factor_required"])

    sign_in_with_sso(client, provider, "alice")

    assert client.get(reverse("calendar:settings", args=[workspace.slug])).status_code == 200


# --- workspaces that require single sign-on ---------------------------------------------------


@pytest.fixture
def sso_workspace(workspace, alice):
    MembershipFactory(workspace=workspace, user=alice, role=Role.EDITOR)
    workspace.sso_required = True
    workspace.save(update_fields=["sso_required"])
    return workspace


def test_given_a_workspace_requiring_sso_when_a_password_session_opens_it_then_sent_to_the_login(
    client, sso, alice, sso_workspace
):
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    page = reverse("calendar:settings", args=[sso_workspace.slug])

    response = client.get(page, follow=True)

    assert response.redirect_chain[0][0] == f"{reverse('login')}?next={page.replace('/', '%2F')}"
    assert f"Acme requires single sign-on: sign in with {PROVIDER_NAME}" in page_messages(response)
    assert f"Sign in with {PROVIDER_NAME}" in response.content.decode()


def test_given_a_workspace_requiring_sso_when_the_member_signs_in_with_sso_then_it_opens(
    client, sso, provider, alice, sso_workspace
):
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    page = reverse("calendar:settings", args=[sso_workspace.slug])

    response = sign_in_with_sso(client, provider, "alice", next_url=page)

    assert response["Location"] == page
    assert client.get(page).status_code == 200


def test_given_an_sso_session_when_the_member_logs_in_with_the_password_then_it_no_longer_counts(
    client, sso, provider, alice, sso_workspace
):
    sign_in_with_sso(client, provider, "alice")

    client.post(reverse("login"), {"username": "alice", "password": "correct horse battery staple"})

    assert client.session[SESSION_KEY] == str(alice.pk)
    assert client.get(reverse("calendar:settings", args=[sso_workspace.slug])).status_code == 302


@pytest.mark.parametrize("role", list(Role))
def test_given_a_role_when_asked_who_may_require_sso_then_owners_only(members, role):
    assert can(members[role], Action.SSO_REQUIRE) is (role == Role.OWNER)


def _settings_data(workspace) -> dict:
    return {"name": workspace.name, "timezone": workspace.timezone, "language": workspace.language}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EDITOR, Role.VIEWER])
def test_given_a_non_owner_when_they_switch_sso_on_then_refused(sso, members, workspace, role):
    with pytest.raises(PermissionDenied):
        workspace_services.workspace_update(
            membership=members[role],
            sso_session=True,
            sso_required=True,
            **_settings_data(workspace),
        )
    workspace.refresh_from_db()
    assert not workspace.sso_required


def test_given_an_owner_in_a_password_session_when_they_switch_sso_on_then_asked_to_sign_in_with_it(
    client, sso, owner, workspace
):
    client.force_login(owner.user, backend="django.contrib.auth.backends.ModelBackend")

    response = client.post(
        reverse("calendar:settings", args=[workspace.slug]),
        {**_settings_data(workspace), "sso_required": "on"},
    )

    assert response.status_code == 200
    assert f"Sign in with {PROVIDER_NAME} yourself first" in response.content.decode()
    workspace.refresh_from_db()
    assert not workspace.sso_required


def test_given_an_owner_signed_in_with_sso_when_they_switch_it_on_then_saved(
    client, sso, provider, owner, workspace
):
    owner.user.email = "alice@example.test"
    owner.user.save(update_fields=["email"])
    sign_in_with_sso(client, provider, "alice")

    response = client.post(
        reverse("calendar:settings", args=[workspace.slug]),
        {**_settings_data(workspace), "sso_required": "on"},
    )

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.sso_required
    assert provider.client_secret not in client.get(response["Location"]).content.decode()


# --- not configured ---------------------------------------------------------------------------


def test_given_no_sso_configured_when_the_login_page_opens_then_no_button(client, db):
    assert "Sign in with" not in client.get(reverse("login")).content.decode()


def test_given_no_sso_configured_when_its_urls_are_opened_then_not_found(client, db):
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert (
        client.get(reverse("oidc_authentication_callback"), {"code": "x", "state": "y"}).status_code
        == 404
    )


def test_given_no_sso_configured_when_the_owner_opens_the_settings_then_no_switch_and_none_accepted(
    client, owner, workspace
):
    client.force_login(owner.user)
    assert (
        "sso_required"
        not in client.get(reverse("calendar:settings", args=[workspace.slug])).content.decode()
    )
    with pytest.raises(ValidationError) as refused:
        workspace_services.workspace_update(
            membership=owner, sso_session=True, sso_required=True, **_settings_data(workspace)
        )
    assert "sso_required" in refused.value.error_dict


def test_given_sso_configured_when_the_login_page_opens_then_the_button_names_the_provider(
    client, sso
):
    content = client.get(reverse("login"), {"next": "/w/acme/"}).content.decode()

    assert f"Sign in with {PROVIDER_NAME}" in content
    assert f'href="{reverse("oidc_authentication_init")}?next=/w/acme/"' in content.replace(
        "%2F", "/"
    )

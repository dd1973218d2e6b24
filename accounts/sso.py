"""Single sign-on over OpenID Connect: whether this site has it, and whether a session signed in
through it. Small and free of the OIDC library, so that permissions and templates can ask.

The sign-in itself is accounts.oidc (the backend) and accounts.oidc_views (the two views).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext

SSO_BACKEND = "accounts.oidc.SSOBackend"
# Set at an OIDC login (accounts.oidc_views) to the user's id, dropped at a password login: the
# session's latest sign-in went through the identity provider.
SSO_SESSION_KEY = "sso_user"


def sso_configured() -> bool:
    """Whether single sign-on is set up: a client id, the provider's endpoints (or its discovery
    document) and the backend among AUTHENTICATION_BACKENDS. Read from the settings every time,
    so that a test can switch it with override_settings."""
    endpoints = (
        settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
        settings.OIDC_OP_TOKEN_ENDPOINT,
        settings.OIDC_OP_USER_ENDPOINT,
        settings.OIDC_OP_JWKS_ENDPOINT,
    )
    return bool(
        settings.OIDC_RP_CLIENT_ID
        and (settings.OIDC_OP_DISCOVERY_URL or all(endpoints))
        and SSO_BACKEND in settings.AUTHENTICATION_BACKENDS
    )


def sso_provider_name() -> str:
    """How the sign-in button and messages name the identity provider ("Microsoft Entra ID")."""
    return settings.OIDC_PROVIDER_NAME or gettext("single sign-on")


def sso_session(request: HttpRequest) -> bool:
    """Whether this session's user signed in through the identity provider."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not sso_configured():
        return False
    return request.session.get(SSO_SESSION_KEY) == user.pk


def sso_session_mark(request: HttpRequest) -> None:
    """Record that the session's user has just signed in through the identity provider."""
    request.session[SSO_SESSION_KEY] = request.user.pk


def sso_session_forget(request: HttpRequest) -> None:
    """A password login: the session no longer counts as a single sign-on one."""
    request.session.pop(SSO_SESSION_KEY, None)

"""The OpenID Connect backend (mozilla-django-oidc): who a sign-in through the identity provider
is here. A person is found by their e-mail address, and only when the provider says it verified
that address; an unknown address gets an account only when OIDC_CREATE_USERS is on (accounts
come from invitations otherwise).

A refusal is left on the request (SSO_REFUSAL) for the callback view to show; tokens and the
client secret are never logged nor shown.
"""

from __future__ import annotations

import logging
import re
import threading
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.sso import sso_configured, sso_provider_name

logger = logging.getLogger(__name__)

# The attribute of the request a refused sign-in leaves its message on.
SSO_REFUSAL = "sso_refusal"
DISCOVERY_CACHE_SECONDS = 3600

_discovery_lock = threading.Lock()
_discovered: dict[str, tuple[float, dict]] = {}


def _discovery(url: str) -> dict:
    """The provider's discovery document, fetched when first needed and kept for an hour."""
    with _discovery_lock:
        cached = _discovered.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
    response.raise_for_status()
    document = response.json()
    with _discovery_lock:
        _discovered[url] = (time.monotonic() + DISCOVERY_CACHE_SECONDS, document)
    return document


def provider_endpoints() -> dict[str, str]:
    """The provider's endpoints and issuer: each OIDC_OP_* setting that is set, else the value
    from the discovery document (OIDC_OP_DISCOVERY_URL)."""
    given = {
        "authorization_endpoint": settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
        "token_endpoint": settings.OIDC_OP_TOKEN_ENDPOINT,
        "userinfo_endpoint": settings.OIDC_OP_USER_ENDPOINT,
        "jwks_uri": settings.OIDC_OP_JWKS_ENDPOINT,
        "issuer": "",
    }
    if settings.OIDC_OP_DISCOVERY_URL and not all(given[k] for k in given if k != "issuer"):
        document = _discovery(settings.OIDC_OP_DISCOVERY_URL)
        given = {key: value or document.get(key, "") for key, value in given.items()}
    missing = [key for key, value in given.items() if not value and key != "issuer"]
    if missing:
        raise ImproperlyConfigured(f"OIDC: the provider names no {', '.join(missing)}.")
    return given


def email_verified(claims: dict) -> bool:
    """Whether the provider says it verified the address. Some providers send the claim as the
    string "true" (Amazon Cognito); nothing else counts, a missing claim included."""
    value = claims.get(settings.OIDC_EMAIL_VERIFIED_CLAIM)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class SSORefused(Exception):
    """A sign-in the provider vouched for, but that opens no account here; says why."""


class SSOBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Django makes a backend for every password login and every request of a session this
        # backend signed in; the endpoints (maybe a discovery fetch) are needed only when a
        # sign-in comes back from the provider, so they are looked up then (`_configure`).
        self.UserModel = get_user_model()

    def _configure(self) -> None:
        endpoints = provider_endpoints()
        self.OIDC_OP_TOKEN_ENDPOINT = endpoints["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = endpoints["userinfo_endpoint"]
        self.OIDC_OP_JWKS_ENDPOINT = endpoints["jwks_uri"]
        self.issuer = endpoints["issuer"]
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None  # always the provider's published keys (JWKS)

    def authenticate(self, request, **kwargs):
        # Only the callback view passes a nonce; a password login never reaches the provider.
        if request is None or "nonce" not in kwargs or not sso_configured():
            return None
        self._configure()
        try:
            return super().authenticate(request, **kwargs)
        except SSORefused as refusal:
            setattr(request, SSO_REFUSAL, str(refusal))
            return None

    def verify_token(self, token, **kwargs):
        """The signature (JWKS) and nonce, as the library checks them, and also that the ID
        token was issued by this provider for this site, which it leaves out."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("OIDC: the ID token is for another client.")
        if self.issuer and payload.get("iss") != self.issuer:
            raise SuspiciousOperation("OIDC: the ID token comes from another issuer.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):  # OpenID Connect Core 5.3.2
            raise SuspiciousOperation("OIDC: the user info is about someone else.")
        # The ID token's claims too (its signature is checked): some providers put the
        # verification claim only there (Entra ID's optional xms_edov).
        claims = {**payload, **userinfo}
        provider = sso_provider_name()
        email = (claims.get("email") or "").strip()
        if not email:
            raise SSORefused(
                _(
                    "%(provider)s did not tell us your e-mail address, so you cannot be signed "
                    "in with it. Log in with your password."
                )
                % {"provider": provider}
            )
        if not email_verified(claims):
            raise SSORefused(
                _(
                    "%(provider)s has not verified your e-mail address %(email)s, so it cannot "
                    "sign you in here. Verify the address there, or log in with your password."
                )
                % {"provider": provider, "email": email}
            )
        users = list(self.UserModel.objects.filter(email__iexact=email, is_active=True)[:2])
        if len(users) > 1:
            raise SSORefused(
                _(
                    "More than one account here uses the e-mail address %(email)s, so single "
                    "sign-on cannot tell which is yours. Log in with your password, or ask your "
                    "administrator."
                )
                % {"email": email}
            )
        if users:
            return users[0]
        if not settings.OIDC_CREATE_USERS:
            raise SSORefused(
                _(
                    "No account here uses the e-mail address %(email)s. Accounts are made by "
                    "invitation: ask an owner of your workspace to invite this address."
                )
                % {"email": email}
            )
        return self.create_user(claims)

    def create_user(self, claims):
        """An account for a verified address (OIDC_CREATE_USERS): no password (single sign-on
        only, until the person sets one through a password reset), a username from the
        address that is not taken yet."""
        email = claims["email"].strip()
        base = re.sub(r"[^\w.@+-]", "", email.split("@")[0])[:140] or "user"
        for n in range(1, 100):
            username = base if n == 1 else f"{base}{n}"
            if self.UserModel.objects.filter(username__iexact=username).exists():
                continue
            user = self.UserModel(
                username=username,
                email=email,
                first_name=(claims.get("given_name") or "")[:150],
                last_name=(claims.get("family_name") or "")[:150],
            )
            user.set_unusable_password()
            try:
                with transaction.atomic():
                    user.save()
            except IntegrityError:  # the same name, taken a moment ago
                continue
            logger.info("OIDC: account %s created for a verified address", user.pk)
            return user
        raise SSORefused(_("No free username was found for your account. Ask your administrator."))

    def get_user(self, user_id):
        # The library's get_user also returns deactivated accounts; Django's does not.
        return ModelBackend.get_user(self, user_id)

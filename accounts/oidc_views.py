"""The two single sign-on pages: /oidc/authenticate/ sends the person to the identity provider,
/oidc/callback/ takes them back (mozilla-django-oidc's views, with our endpoints, messages and
session mark). Both answer 404 while single sign-on is not configured.

A person who set up two-factor authentication here still enters their code after the provider,
unless OIDC_COUNTS_AS_TWO_FACTOR says the provider's sign-in is enough (it usually asks for a
second factor itself): the code step of accounts.two_factor_views, told it came from SSO.
"""

from __future__ import annotations

import logging
import time

import requests
from django.conf import settings
from django.contrib import auth, messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.oidc import SSO_REFUSAL, provider_endpoints
from accounts.sso import SSO_BACKEND, sso_configured, sso_provider_name, sso_session_mark
from accounts.two_factor import two_factor_enabled
from accounts.two_factor_views import LOGIN_PENDING

logger = logging.getLogger(__name__)


def _unreachable(request, exc: Exception) -> HttpResponseRedirect:
    # The exception's class only: a token endpoint's error text may echo what was sent.
    logger.warning("OIDC: the identity provider failed (%s)", type(exc).__name__)
    messages.error(
        request,
        _("%(provider)s could not be reached. Try again, or log in with your password.")
        % {"provider": sso_provider_name()},
    )
    return redirect("login")


class SSOStartView(OIDCAuthenticationRequestView):
    def __init__(self, *args, **kwargs):
        # The library reads the endpoints here; ours may need the discovery document (get).
        View.__init__(self, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        if not sso_configured():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_endpoints()["authorization_endpoint"]
        except requests.RequestException as exc:
            return _unreachable(request, exc)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SSOCallbackView(OIDCAuthenticationCallbackView):
    def dispatch(self, request, *args, **kwargs):
        if not sso_configured():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        try:
            return super().get(request)
        except requests.RequestException as exc:
            return _unreachable(request, exc)

    def login_failure(self):
        refusal = getattr(self.request, SSO_REFUSAL, None)
        messages.error(
            self.request,
            refusal
            or _(
                "Signing in with %(provider)s did not work. Try again, or log in with your "
                "password."
            )
            % {"provider": sso_provider_name()},
        )
        return redirect("login")

    def login_success(self):
        request, user, next_url = self.request, self.user, self.success_url
        if two_factor_enabled(user) and not settings.OIDC_COUNTS_AS_TWO_FACTOR:
            request.session[LOGIN_PENDING] = {
                "user": user.pk,
                "backend": SSO_BACKEND,
                "next": next_url,
                "since": time.time(),
                "sso": True,
            }
            return redirect("login_code")
        # Always a fresh login (a new session key), also for the person already logged in with
        # their password: the session gains what single sign-on opens.
        auth.login(request, user, backend=SSO_BACKEND)
        sso_session_mark(request)
        return HttpResponseRedirect(next_url)

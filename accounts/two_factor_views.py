"""Two-factor authentication pages: the login's code step and a person's own security page
(set up an authenticator app, confirm this session, new recovery codes, turn it off).

The views parse and keep the session's state; accounts.two_factor decides and writes. A login
whose password was right waits in the session (LOGIN_PENDING) until the code step: the person
is not logged in, and nothing of theirs opens, before the second factor.
"""

from __future__ import annotations

import time
from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import sso, two_factor
from accounts.forms import PasswordConfirmForm, TwoFactorCodeForm
from accounts.models import User
from calendar_app.models import Workspace

LOGIN_PENDING = "two_factor_login"


def _next_url(request: HttpRequest) -> str:
    """Where to go afterwards: a `next` on this site, else nowhere in particular."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _security_url(next_url: str = "") -> str:
    url = reverse("account_security")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _apply(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- login ------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Django's login; a person with two-factor authentication goes on to the code step. The
    single sign-on button shows when it is configured."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if sso.sso_configured():
            context["sso_provider"] = sso.sso_provider_name()
        return context

    def form_valid(self, form):
        user = form.get_user()
        sso.sso_session_forget(self.request)
        if not two_factor.two_factor_enabled(user):
            return super().form_valid(form)
        self.request.session[LOGIN_PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "since": time.time(),
        }
        return redirect("login_code")


def _pending_user(request: HttpRequest) -> tuple[User, dict] | None:
    pending = request.session.get(LOGIN_PENDING)
    if not pending or time.time() - pending["since"] > settings.TWO_FACTOR_LOGIN_SECONDS:
        return None
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    return (user, pending) if user is not None else None


@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    found = _pending_user(request)
    if found is None:
        request.session.pop(LOGIN_PENDING, None)
        messages.info(request, _("Your login took too long or was not started. Log in again."))
        return redirect("login")
    user, pending = found
    form = TwoFactorCodeForm(request.POST or None, recovery=True)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.two_factor_verify(user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _apply(form, exc)
        else:
            del request.session[LOGIN_PENDING]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)  # this session is verified (user.is_verified())
            if pending.get("sso"):  # the code step after the identity provider
                sso.sso_session_mark(request)
            if device.name == two_factor.RECOVERY_CODES_NAME:
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request,
                    ngettext(
                        "You logged in with a recovery code. %(count)d recovery code is left: "
                        "make new ones under Two-factor authentication.",
                        "You logged in with a recovery code. %(count)d recovery codes are left: "
                        "make new ones under Two-factor authentication.",
                        left,
                    )
                    % {"count": left},
                )
            return redirect(pending["next"] or resolve_url(settings.LOGIN_REDIRECT_URL))
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


# --- the security page ------------------------------------------------------------------------


def _qr_code(device) -> str:
    """The otpauth:// URL as an SVG data: URI (an <img> the CSP allows, no script)."""
    return segno.make(device.config_url, error="m").svg_data_uri(
        scale=5, border=2, dark="#000", light="#fff"
    )


def _secret(device) -> str:
    # Base32, as apps ask for it when typed, in groups of four.
    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def _security_page(request: HttpRequest, *, status: int = 200, **forms) -> HttpResponse:
    user = request.user
    enabled = two_factor.two_factor_enabled(user)
    pending = None if enabled else two_factor.authenticator_pending(user)
    context = {
        "enabled": enabled,
        "verified": user.is_verified(),
        "next": _next_url(request),
        "required_by": Workspace.objects.filter(
            memberships__user=user, two_factor_required=True
        ).order_by("name"),
        "recovery_codes_left": two_factor.recovery_codes_left(user) if enabled else 0,
        "code_form": forms.get("code_form") or TwoFactorCodeForm(recovery=enabled),
        "regenerate_form": forms.get("regenerate_form") or PasswordConfirmForm(),
        "disable_form": forms.get("disable_form") or PasswordConfirmForm(),
    }
    if pending is not None:
        # The secret is shown only while the setup is unfinished, never once it is confirmed.
        context.update(pending=True, qr_code=_qr_code(pending), secret=_secret(pending))
    return render(request, "accounts/security.html", context, status=status)


def _recovery_codes_page(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "done_url": _next_url(request) or reverse("account_security")},
    )


@never_cache
@login_required
@require_http_methods(["GET"])
def security(request: HttpRequest) -> HttpResponse:
    return _security_page(request)


@never_cache
@login_required
@require_POST
def security_setup_start(request: HttpRequest) -> HttpResponse:
    try:
        two_factor.two_factor_setup_start(user=request.user)
    except ValidationError as exc:
        messages.info(request, exc.messages[0])
    return redirect(_security_url(_next_url(request)))


@never_cache
@login_required
@require_POST
def security_setup_confirm(request: HttpRequest) -> HttpResponse:
    form = TwoFactorCodeForm(request.POST)
    if form.is_valid():
        try:
            device, codes = two_factor.two_factor_setup_confirm(
                user=request.user, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            _apply(form, exc)
        else:
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return _recovery_codes_page(request, codes)
    return _security_page(request, status=400, code_form=form)


@never_cache
@login_required
@require_POST
def security_verify(request: HttpRequest) -> HttpResponse:
    """Confirm a session that was logged in before two-factor authentication was set up."""
    form = TwoFactorCodeForm(request.POST, recovery=True)
    if form.is_valid():
        try:
            device = two_factor.two_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _apply(form, exc)
        else:
            otp_login(request, device)
            messages.success(request, _("This session is confirmed."))
            return redirect(_next_url(request) or _security_url())
    return _security_page(request, status=400, code_form=form)


@never_cache
@login_required
@require_POST
def security_recovery_codes(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            codes = two_factor.recovery_codes_regenerate(
                user=request.user, password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("New recovery codes were made; the old ones stop working."))
            return _recovery_codes_page(request, codes)
    return _security_page(request, status=400, regenerate_form=form)


@never_cache
@login_required
@require_POST
def security_disable(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            two_factor.two_factor_disable(user=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("account_security")
    return _security_page(request, status=400, disable_form=form)

import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.lockouts import password_reset_allowed


@require_POST
def set_language(request: HttpRequest):
    """Switch the interface language; a signed-in user keeps the choice in their profile."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unknown language.")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    translation.activate(language)
    response = HttpResponseRedirect(next_url)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, with a limit per address and per e-mail address (issue 13): the
    form must not become a way to flood someone's inbox or probe at scale."""

    def form_valid(self, form):
        allowed, wait = password_reset_allowed(self.request, form.cleaned_data["email"])
        if not allowed:
            response = render(
                self.request,
                "registration/password_reset_limited.html",
                {"minutes": max(1, math.ceil(wait / 60))},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        return super().form_valid(form)

"""The "Your data" page: download one's own data as JSON, or delete one's account.

The views only ask: accounts.exports writes the file, accounts.services.account_delete decides
and deletes.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.exports import personal_data_export
from accounts.services import account_delete


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _page(request: HttpRequest, form: AccountDeleteForm, *, status: int = 200) -> HttpResponse:
    return render(request, "accounts/privacy.html", {"form": form}, status=status)


@login_required
@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return _page(request, AccountDeleteForm())


@login_required
@require_GET
def privacy_export(request: HttpRequest) -> StreamingHttpResponse:
    """The signed-in person's data as a JSON file (streamed: bounded memory however much)."""
    user = request.user
    filename = f"personal-data-{user.username}-{timezone.now():%Y-%m-%d}.json"
    response = StreamingHttpResponse(
        personal_data_export(user, language=translation.get_language()),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def account_delete_view(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        account_delete(user=request.user, password=form.cleaned_data["password"])
    except ValidationError as exc:
        form.add_error(None, exc)  # on the field it names (the password), else on top
        return _page(request, form, status=400)
    logout(request)
    messages.success(request, _("Your account is deleted."))
    return redirect("login")

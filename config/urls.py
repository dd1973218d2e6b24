from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import oidc_views, two_factor_views
from accounts import privacy as privacy_views
from accounts import views as account_views
from calendar_app.views import invitations as invitation_views
from calendar_app.views import review as review_views
from publishing.delivery_views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says: the icon, not a 404 on every page.
    path(
        "favicon.ico",
        lambda request: HttpResponsePermanentRedirect(static_url("calendar_app/favicon.svg")),
    ),
    # The admin's own login would skip the second factor: staff log in through ours.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    # Before django.contrib.auth's login: the same page, with the two-factor code step after it.
    path("accounts/login/", two_factor_views.LoginView.as_view(), name="login"),
    path("accounts/login/code/", two_factor_views.login_code, name="login_code"),
    # Before django.contrib.auth's: the same form, limited per address and e-mail address.
    path(
        "accounts/password_reset/",
        account_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/security/", two_factor_views.security, name="account_security"),
    path(
        "accounts/security/setup/",
        two_factor_views.security_setup_start,
        name="account_two_factor_start",
    ),
    path(
        "accounts/security/confirm/",
        two_factor_views.security_setup_confirm,
        name="account_two_factor_confirm",
    ),
    path(
        "accounts/security/verify/",
        two_factor_views.security_verify,
        name="account_two_factor_verify",
    ),
    path(
        "accounts/security/recovery-codes/",
        two_factor_views.security_recovery_codes,
        name="account_recovery_codes",
    ),
    path(
        "accounts/security/disable/",
        two_factor_views.security_disable,
        name="account_two_factor_disable",
    ),
    # Single sign-on (accounts.oidc_views): 404 while it is not configured.
    path("oidc/authenticate/", oidc_views.SSOStartView.as_view(), name="oidc_authentication_init"),
    path(
        "oidc/callback/", oidc_views.SSOCallbackView.as_view(), name="oidc_authentication_callback"
    ),
    path("accounts/language/", account_views.set_language, name="set_language"),
    path("accounts/privacy/", privacy_views.privacy, name="privacy"),
    path("accounts/privacy/export/", privacy_views.privacy_export, name="privacy_export"),
    path("accounts/privacy/delete/", privacy_views.account_delete_view, name="account_delete"),
    path("notifications/", include("notifications.urls")),
    path("", include("links.urls")),
    path("", include("analytics.urls")),
    path("", include("publishing.urls")),
    # External reviewers have no account and no workspace in the URL: the signed token is all.
    # It is swapped for a cookie at once; the pages live under the link's id (never a token:
    # a token always holds a "." and a ":").
    path("review/<id:link_id>/", review_views.external_review_page, name="external_review_page"),
    path("review/<str:token>/", review_views.external_review, name="external_review"),
    # So do invitations: the link is the proof, whoever opens it and whatever account they use.
    path("invite/<str:token>/", invitation_views.invitation, name="invitation"),
    path(
        "invite/<str:token>/sign-up/",
        invitation_views.invitation_sign_up,
        name="invitation_sign_up",
    ),
    path("", include("calendar_app.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

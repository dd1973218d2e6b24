from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path

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
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
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
    path("review/<int:link_id>/", review_views.external_review_page, name="external_review_page"),
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

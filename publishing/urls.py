"""Connect flows: per workspace, plus the one OAuth callback URL every platform redirects to."""

from django.urls import path

from publishing import views

app_name = "publishing"

ws = "w/<slug:ws>/"

urlpatterns = [
    path(ws + "settings/channels/connect/", views.connect_choose, name="connect"),
    path(
        ws + "settings/channels/connect/<slug:platform>/",
        views.connect_platform,
        name="connect_platform",
    ),
    path("connect/callback/", views.oauth_callback, name="oauth_callback"),
]

"""Connect flows (per workspace, plus the one OAuth callback URL every platform redirects to),
the publishing log and delivery actions."""

from django.urls import path

from publishing import delivery_views, views

app_name = "publishing"

ws = "w/<slug:ws>/"

urlpatterns = [
    path(ws + "settings/channels/connect/", views.connect_choose, name="connect"),
    path(
        ws + "settings/channels/connect/<slug:platform>/",
        views.connect_platform,
        name="connect_platform",
    ),
    path(
        ws + "settings/channels/connect-test-network/",
        views.connect_test_network,
        name="connect_test_network",
    ),
    path("connect/callback/", views.oauth_callback, name="oauth_callback"),
    path(ws + "sandbox/", delivery_views.sandbox_feed, name="sandbox"),
    path(ws + "publishing/", delivery_views.publishing_log, name="log"),
    path(ws + "posts/<id:pk>/deliveries/", delivery_views.post_deliveries, name="post_deliveries"),
    path(
        ws + "deliveries/<id:pk>/publish-now/",
        delivery_views.delivery_publish_now,
        name="delivery_publish_now",
    ),
    path(ws + "deliveries/<id:pk>/done/", delivery_views.delivery_mark_done, name="delivery_done"),
    path(
        ws + "deliveries/<id:pk>/live/",
        delivery_views.delivery_confirm_live,
        name="delivery_confirm_live",
    ),
    path(
        ws + "deliveries/<id:pk>/post-again/",
        delivery_views.delivery_post_again,
        name="delivery_post_again",
    ),
]

"""Our short links: /l/<code> answers everyone, without login."""

from django.urls import path

from links import views

app_name = "links"

# Anything under /l/ reaches the view, so a mangled link gets our own "not found" page.
urlpatterns = [path("l/<path:code>", views.link_redirect, name="redirect")]

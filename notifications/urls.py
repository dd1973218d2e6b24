from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("menu/", views.notification_menu, name="menu"),
    path("read/", views.notification_read_all, name="read_all"),
    path("<id:pk>/open/", views.notification_open, name="open"),
    path("preferences/", views.notification_preferences, name="preferences"),
]

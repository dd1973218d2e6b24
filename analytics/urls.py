from django.urls import path

from analytics import views

app_name = "analytics"

ws = "w/<slug:ws>/analytics/"

urlpatterns = [
    path(ws, views.dashboard, name="dashboard"),
    path(ws + "posts/", views.ranked_posts, name="posts"),
    path(ws + "posts/<id:pk>/", views.post_detail, name="post"),
    path(ws + "posts/<id:pk>/series.csv", views.post_series_csv, name="post_series_csv"),
    path(ws + "published/<id:pk>/", views.remote_post_detail, name="remote_post"),
    path(
        ws + "published/<id:pk>/series.csv",
        views.remote_post_series_csv,
        name="remote_post_series_csv",
    ),
    path(ws + "campaigns/", views.campaigns, name="campaigns"),
    path(ws + "best-time/", views.best_time, name="best_time"),
    path(ws + "print/", views.print_report, name="print"),
    path(ws + "export/<slug:table>.csv", views.export, name="export"),
    path(ws + "hints/best-time/", views.hint_best_time, name="hint_best_time"),
    path(ws + "hints/posts/<id:pk>/", views.hint_post, name="hint_post"),
]

from django.urls import path

from calendar_app.views import calendar, media, posts, review, workspace

app_name = "calendar"

ws = "w/<slug:ws>/"

urlpatterns = [
    path("", calendar.home, name="home"),
    path(ws, calendar.workspace_home, name="workspace_home"),
    # calendar views
    path(ws + "month/", calendar.month, name="month_current"),
    path(ws + "month/<int:year>/<int:month>/", calendar.month, name="month"),
    path(ws + "week/", calendar.week, name="week_current"),
    path(ws + "week/<int:year>/<int:week>/", calendar.week, name="week"),
    path(ws + "list/", calendar.post_list, name="list"),
    # posts
    path(ws + "posts/new/", posts.post_create, name="post_create"),
    path(ws + "posts/check/", posts.post_check, name="post_check"),
    path(ws + "posts/<id:pk>/", posts.post_edit, name="post_edit"),
    path(ws + "posts/<id:pk>/delete/", posts.post_delete, name="post_delete"),
    path(ws + "posts/<id:pk>/duplicate/", posts.post_duplicate, name="post_duplicate"),
    path(ws + "posts/<id:pk>/reschedule/", calendar.post_reschedule, name="post_reschedule"),
    path(ws + "posts/<id:pk>/unschedule/", calendar.post_unschedule, name="post_unschedule"),
    # approvals and review
    path(ws + "review/", review.review_queue, name="review_queue"),
    path(ws + "review/count/", review.review_count, name="review_count"),
    path(ws + "review/bulk/", review.review_bulk, name="review_bulk"),
    path(ws + "review/share/", review.review_link_share, name="review_link_share"),
    path(ws + "posts/<id:pk>/decide/", review.review_decide, name="review_decide"),
    path(ws + "posts/<id:pk>/workflow/", review.post_workflow, name="post_workflow"),
    path(ws + "posts/<id:pk>/review-panel/", review.post_review_panel, name="post_review_panel"),
    path(ws + "posts/<id:pk>/comments/", review.post_comment, name="post_comment"),
    path(ws + "posts/<id:pk>/history/", review.post_history, name="post_history"),
    path(ws + "posts/<id:pk>/review-link/", review.review_link_create, name="review_link_create"),
    path(ws + "review-links/<id:pk>/revoke/", review.review_link_revoke, name="review_link_revoke"),
    # media library
    path(ws + "media/", media.media_library, name="media_library"),
    path(ws + "media/upload/", media.media_upload, name="media_upload"),
    path(ws + "media/picker/", media.media_picker, name="media_picker"),
    # workspace settings
    path(ws + "settings/", workspace.settings_home, name="settings"),
    path(ws + "settings/channels/", workspace.channel_list, name="channels"),
    path(ws + "settings/channels/new/", workspace.channel_edit, name="channel_create"),
    path(ws + "settings/channels/<id:pk>/", workspace.channel_edit, name="channel_edit"),
    path(ws + "settings/campaigns/", workspace.campaign_list, name="campaigns"),
    path(ws + "settings/campaigns/new/", workspace.campaign_edit, name="campaign_create"),
    path(ws + "settings/campaigns/<id:pk>/", workspace.campaign_edit, name="campaign_edit"),
    path(ws + "settings/labels/", workspace.label_list, name="labels"),
    path(ws + "settings/labels/new/", workspace.label_edit, name="label_create"),
    path(ws + "settings/labels/<id:pk>/", workspace.label_edit, name="label_edit"),
    path(ws + "settings/members/", workspace.member_list, name="members"),
    path(ws + "settings/approvals/", workspace.approval_policy, name="approval_policy"),
]

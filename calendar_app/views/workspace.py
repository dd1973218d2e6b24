"""Workspace settings: channels, campaigns, labels, members. (In progress.)"""

from django.http import HttpResponse


def _todo(*args, **kwargs):
    return HttpResponse("Not built yet.", status=501)


settings_home = channel_list = channel_edit = campaign_list = campaign_edit = _todo
label_list = label_edit = member_list = _todo

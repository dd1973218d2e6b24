"""Month, week and list views; drag-and-drop rescheduling. (In progress.)"""

from django.http import HttpResponse


def _todo(*args, **kwargs):
    return HttpResponse("Not built yet.", status=501)


home = workspace_home = month = week = post_list = post_reschedule = post_unschedule = _todo

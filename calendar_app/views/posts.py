"""Post editor. (In progress.)"""

from django.http import HttpResponse


def _todo(*args, **kwargs):
    return HttpResponse("Not built yet.", status=501)


post_create = post_check = post_edit = post_delete = _todo

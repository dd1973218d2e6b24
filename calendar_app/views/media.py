"""Media library and upload. (In progress.)"""

from django.http import HttpResponse


def _todo(*args, **kwargs):
    return HttpResponse("Not built yet.", status=501)


media_library = media_upload = _todo

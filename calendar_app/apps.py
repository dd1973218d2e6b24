from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarAppConfig(AppConfig):
    name = "calendar_app"
    verbose_name = _("Editorial calendar")

    def ready(self) -> None:
        from django.urls import register_converter

        from calendar_app.params import IdConverter

        # Before any URL pattern is read (URLconfs load on the first request, after ready()).
        register_converter(IdConverter, "id")

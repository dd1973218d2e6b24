"""{% editor_hints "when" %}: the hints other apps add to the post editor (calendar_app.editor_hints)."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from calendar_app.editor_hints import hints_for

register = template.Library()


@register.simple_tag(takes_context=True)
def editor_hints(context, slot: str) -> SafeString:
    workspace = context.get("workspace")
    if workspace is None:
        return SafeString("")
    hints = hints_for(workspace=workspace, post=context.get("post"), slot=slot)
    return format_html_join("", "{}", ((html,) for html in hints))

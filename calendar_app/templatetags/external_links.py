"""{{ value|external_url }}: the one way a template puts a platform's address in an href.

It gives the address back when calendar_app.external_urls allows it and "" otherwise, so
`{% if d.url|external_url %}<a href="{{ d.url|external_url }}">…</a>{% endif %}` renders no
link at all for a `javascript:`, `data:` or relative address (older rows, a platform's answer).
tests/test_external_urls.py fails for a template that puts such a variable in an href without it.
"""

from django import template

from calendar_app.external_urls import external_url_or_empty

register = template.Library()


@register.filter(name="external_url", is_safe=False)
def external_url(value: object) -> str:
    return external_url_or_empty(value)

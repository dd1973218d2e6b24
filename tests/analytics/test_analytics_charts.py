"""The server-side SVG charts (accessible, escaped, round axes), the CSV cell rule and the
editor hints hook that lets analytics speak in the post editor without calendar_app importing
it."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import pytest
from django.test import override_settings
from django.utils.html import format_html

from analytics.charts import Cell, Series, heatmap_chart, line_chart, y_axis
from analytics.exports import safe_cell
from calendar_app.editor_hints import EditorHint, hints_for

SVG = "{http://www.w3.org/2000/svg}"


def chart(**overrides):
    arguments = {
        "chart_id": "c1",
        "title": "Likes <per day>",
        "desc": 'Peak on "Monday" & more',
        "series": [Series("A&B <script>", [(0, 1), (1, None), (2, 3), (3, 4)])],
        "x_range": (0.0, 3.0),
        "x_ticks": [(0.0, "1 <Nov>")],
        "y_format": str,
        "legend": True,
    }
    return line_chart(**(arguments | overrides))


def test_a_line_chart_is_an_accessible_svg_image_with_title_and_description():
    root = ElementTree.fromstring(str(chart()))  # well-formed XML: everything escaped

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Likes <per day>"
    assert root.find(f"{SVG}desc").text == 'Peak on "Monday" & more'
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "A&B <script>" in texts
    assert "1 <Nov>" in texts


def test_a_missing_value_breaks_the_line_and_a_lonely_point_is_a_dot():
    root = ElementTree.fromstring(str(chart()))

    assert len(list(root.iter(f"{SVG}polyline"))) == 1  # 2 -> 3 (index 2, 3)
    assert len(list(root.iter(f"{SVG}circle"))) == 1  # the point before the gap


@pytest.mark.parametrize(
    ("highest", "expected"),
    [
        (0, (3.0, 3)),
        (3, (3.0, 3)),
        (8, (8.0, 4)),
        (45, (50.0, 5)),
        (232_241, (250_000.0, 5)),
        (0.37, (0.4, 4)),
    ],
)
def test_y_axes_end_on_round_numbers(highest, expected):
    assert y_axis(highest, whole=highest >= 1 or highest == 0) == expected


def test_heatmap_cells_carry_their_own_text_and_thin_ones_are_hatched():
    svg = str(
        heatmap_chart(
            chart_id="h",
            title="Best time",
            desc="Tue 18:00",
            rows=["Mon", "Tue"],
            columns=["00", "01"],
            cells=[
                Cell(1, 1, 1.0, "Tue 01:00: 9 % (5 posts)", "1"),
                Cell(0, 0, None, "Mon 00:00 <too few>"),
            ],
        )
    )
    root = ElementTree.fromstring(svg)

    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "Mon 00:00 <too few>" in titles
    assert 'fill="url(#h-thin)"' in svg
    assert len([r for r in root.iter(f"{SVG}rect")]) == 4 + 2  # the grid, then the data


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+49 40 123", "'+49 40 123"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Kaffee ☕", "Kaffee ☕"),
        (-3, -3),  # numbers stay numbers
        (0.0423, "0.0423"),
        (None, ""),
        (True, "yes"),
        (dt.date(2026, 11, 1).isoformat(), "2026-11-01"),
    ],
)
def test_csv_cells(value, cell):
    assert safe_cell(value) == cell


# --- the editor hints hook ----------------------------------------------------------------------


def loud(*, workspace, post):
    return [
        EditorHint("when", format_html("<b>{}</b>", workspace)),
        EditorHint("post", format_html("<i>{}</i>", post)),
    ]


def test_hints_come_from_the_providers_in_settings(workspace):
    with override_settings(EDITOR_HINTS=["tests.analytics.test_analytics_charts.loud"]):
        assert hints_for(workspace=workspace, post=None, slot="when") == ["<b>Acme</b>"]
        assert hints_for(workspace=workspace, post="P", slot="post") == ["<i>P</i>"]
    with override_settings(EDITOR_HINTS=[]):
        assert hints_for(workspace=workspace, post=None, slot="when") == []


def test_calendar_app_never_imports_analytics():
    import ast
    from pathlib import Path

    import calendar_app

    root = Path(calendar_app.__file__).parent
    imported = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert not imported & {"analytics", "links", "publishing"}


# --- changes against the previous period ---------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "kind", "shown"),
    [
        (150, 100, "ratio", "▲</span> +50\u00a0%"),
        (99.6, 100, "ratio", "▼</span> \u22120.4\u00a0%"),  # small changes keep a decimal
        (100, 100, "ratio", "±0.0\u00a0%"),
        (5, 0, "ratio", ">new<"),
        (None, 3, "ratio", ">—<"),
        (0.05, 0.04, "points", "▲</span> +1.0 pp"),
    ],
)
def test_change_badges(current, previous, kind, shown):
    from analytics.selectors import Change
    from analytics.templatetags.analytics_tags import change_badge

    assert shown in str(change_badge(Change(current, previous), kind))

"""Time, one way: every page that shows a time shows it in the workspace's zone, across a DST
change, with one format per language (the 24-hour clock in English and German).

Europe/Berlin springs forward on 29 March 2026 (02:00 → 03:00) and falls back on 25 October
2026 (03:00 → 02:00, so 02:30 happens twice). A post at 01:30 UTC on 29 March is 03:30 there;
one published at 01:30 UTC on 25 October is the second 02:30 (CET)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from calendar_app.services import review
from publishing.models import Attempt, AttemptOutcome
from tests.calendar_app.review.test_approval_services import new_post, set_policy
from tests.conftest import login
from tests.factories import DeliveryFactory

SPRING = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # 03:30 CEST, just after the gap
AUTUMN = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)  # 02:30 CET, the second 02:30
NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def edges(owner, editor, manager, channel):
    set_policy(owner)
    spring = new_post(editor, channel, when=SPRING, body="Frühlingsanfang")
    review.post_submit_for_review(membership=editor, post_id=spring.pk)
    delivery = DeliveryFactory(
        post__workspace=channel.workspace,
        post__scheduled_at=AUTUMN,
        post__author=editor.user,
        post__body="Zeitumstellung",
        channel=channel,
    )
    Attempt.objects.create(
        delivery=delivery,
        workspace=channel.workspace,
        started_at=AUTUMN + dt.timedelta(seconds=7),
        finished_at=AUTUMN + dt.timedelta(seconds=8),
        outcome=AttemptOutcome.PUBLISHED,
        idempotency_key=delivery.idempotency_key,
    )
    return {"spring": spring, "autumn": delivery.post, "delivery": delivery}


def pages(edges) -> list[tuple[str, str, str]]:
    """(what, address, the local time it must show)."""
    spring, autumn = edges["spring"], edges["autumn"]
    cal = lambda name, *args: reverse(f"calendar:{name}", args=["acme", *args])  # noqa: E731
    return [
        ("month", cal("month", 2026, 3), "03:30"),
        ("week", cal("week", 2026, 13), "03:30"),
        ("list", cal("list") + "?from=2026-03-29", "03:30"),
        ("editor", cal("post_edit", spring.pk), "03:30"),
        ("review queue", cal("review_queue"), "03:30"),
        ("autumn month", cal("month", 2026, 10), "02:30"),
        ("publishing log", reverse("publishing:log", args=["acme"]), "02:30:07"),
        (
            "delivery panel",
            reverse("publishing:post_deliveries", args=["acme", autumn.pk]),
            "02:30",
        ),
    ]


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_page_that_shows_a_time_shows_the_workspaces_local_time_across_dst(
    client, manager, edges, language
):
    manager.user.language = language
    manager.user.save(update_fields=["language"])
    login(client, manager)
    wrong = []
    with translation.override(language):
        for what, address, local in pages(edges):
            response = client.get(address, headers={"accept-language": language})
            page = response.content.decode()
            assert response.status_code == 200, (what, address)
            if local not in page:
                wrong.append(f"{what}: {local} not shown")
            utc = "01:30"
            if utc in page:
                wrong.append(f"{what}: the UTC time {utc} is shown")
            for twelve_hour in (" a.m.", " p.m.", " AM", " PM"):
                if twelve_hour in page:
                    wrong.append(f"{what}: a 12-hour time ({twelve_hour.strip()})")
    assert not wrong, "\n".join(wrong)


def test_the_week_title_reads_one_way_in_english_and_german(client, manager, edges):
    week = reverse("calendar:week", args=["acme", 2026, 49])
    login(client, manager)
    for language, title in (
        ("en", "Week 49: 30 November – 6 December 2026"),  # noqa: RUF001
        ("de", "KW 49: 30. November – 6. Dezember 2026"),  # noqa: RUF001
    ):
        manager.user.language = language
        manager.user.save(update_fields=["language"])
        assert title in client.get(week).content.decode()

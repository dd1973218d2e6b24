"""The month, week and list views, their filters, and the drag-and-drop endpoints.

"Now" is frozen in January 2027 (Europe/Berlin is UTC+1 then). January 2027 starts on a Friday, so
the month grid runs from Monday 2026-12-28 to Sunday 2027-01-31.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from calendar_app.models import Label, Post, PostVariant, Role
from tests.conftest import login
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    LabelFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
NOW = dt.datetime(2027, 1, 10, 11, 0, tzinfo=UTC)  # Sunday, 12:00 in Berlin
MONTH_QUERIES = 15  # incl. the navbar's unread count and the publishing outcome of the chips


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def month_url(year: int = 2027, month: int = 1, ws: str = "acme") -> str:
    return reverse("calendar:month", args=[ws, year, month])


def week_url(year: int = 2027, week: int = 2, ws: str = "acme") -> str:
    return reverse("calendar:week", args=[ws, year, week])


def list_url(ws: str = "acme") -> str:
    return reverse("calendar:list", args=[ws])


def html(response) -> str:
    return response.content.decode()


def chip_ids(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="post-chip" data-post-id="(\d+)"', text)]


def scheduled_chip_ids(response) -> set[int]:
    """Chips on the calendar grid (not in the ideas sidebar)."""
    text = html(response)
    grid = text.split('data-testid="ideas"')[0]
    return set(chip_ids(grid))


def list_row_ids(response) -> set[int]:
    return {
        int(i) for i in re.findall(r'data-testid="list-row" data-post-id="(\d+)"', html(response))
    }


def day_cell(response, iso: str) -> str:
    text = html(response)
    start = text.index(f'data-testid="day-cell" data-date="{iso}"')
    end = text.find('data-testid="day-cell"', start + 1)
    return text[start : end if end != -1 else text.index('data-testid="ideas"')]


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("view", ["month", "week", "list"])
def test_given_member_of_any_role_when_opening_a_view_then_it_renders_the_post(
    client, members, channel, role, view
):
    post = PostFactory(
        workspace=members[role].workspace,
        title="Launch teaser",
        scheduled_at=berlin(2027, 1, 12, 9, 0),
        channels=[channel],
    )
    login(client, members[role])

    url = {"month": month_url(), "week": week_url(), "list": list_url()}[view]
    response = client.get(url)

    assert response.status_code == 200
    assert "Launch teaser" in html(response)
    if view == "list":
        assert list_row_ids(response) == {post.pk}
    else:
        assert scheduled_chip_ids(response) == {post.pk}
    draggable = 'draggable="true"' in html(response)
    assert draggable == (view != "list" and role != Role.VIEWER)


@pytest.mark.parametrize("name", ["month_current", "week_current", "list", "workspace_home"])
def test_given_anonymous_visitor_when_opening_a_view_then_redirected_to_login(
    client, workspace, name
):
    response = client.get(reverse(f"calendar:{name}", args=["acme"]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", ["month_current", "week_current", "list", "workspace_home"])
def test_given_non_member_when_opening_a_view_then_404(client, members, other_workspace, name):
    stranger = other_workspace.memberships.get()
    login(client, stranger)

    assert client.get(reverse(f"calendar:{name}", args=["acme"])).status_code == 404


def test_given_member_when_opening_another_workspace_then_404(client, editor, other_workspace):
    login(client, editor)

    assert client.get(month_url(ws="other")).status_code == 404
    assert client.get(list_url(ws="other")).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/w/acme/month/2027/13/",
        "/w/acme/month/2027/0/",
        "/w/acme/month/10000/1/",
        "/w/acme/week/2027/54/",
        "/w/acme/week/2026/0/",
    ],
)
def test_given_impossible_month_or_week_when_opened_then_404(client, editor, url):
    login(client, editor)

    assert client.get(url).status_code == 404


def test_given_member_when_opening_home_then_redirected_to_first_workspace_month(
    client, editor, other_workspace
):
    login(client, editor)

    response = client.get(reverse("calendar:home"))

    assert response.status_code == 302
    assert response.url == reverse("calendar:month_current", args=["acme"])


def test_given_user_without_workspace_when_opening_home_then_friendly_page(client, db):
    client.force_login(UserFactory(username="newbie"))

    response = client.get(reverse("calendar:home"))

    assert response.status_code == 200
    assert "You are not a member of any workspace yet." in html(response)


def test_given_member_when_opening_workspace_home_then_redirected_to_current_month(client, editor):
    login(client, editor)

    response = client.get(reverse("calendar:workspace_home", args=["acme"]))

    assert response.url == reverse("calendar:month_current", args=["acme"])


# --- month grid -------------------------------------------------------------------------------------


def test_given_month_view_then_weeks_start_monday_and_adjacent_days_are_muted(client, editor):
    login(client, editor)

    response = client.get(month_url())

    days = re.findall(
        r'class="cal-day([^"]*)" data-testid="day-cell" data-date="([^"]+)"', html(response)
    )
    assert days[0][1] == "2026-12-28"  # a Monday
    assert days[-1][1] == "2027-01-31"  # a Sunday
    assert len(days) == 35
    muted = {iso for classes, iso in days if "is-muted" in classes}
    assert muted == {"2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31"}


def test_given_post_at_2330_utc_in_winter_then_it_shows_on_the_next_local_day(
    client, editor, channel
):
    post = PostFactory(
        workspace=editor.workspace,
        scheduled_at=dt.datetime(2027, 1, 14, 23, 30, tzinfo=UTC),
        channels=[channel],
    )
    login(client, editor)

    response = client.get(month_url())

    assert f'data-post-id="{post.pk}"' in day_cell(response, "2027-01-15")
    assert f'data-post-id="{post.pk}"' not in day_cell(response, "2027-01-14")
    assert '<span class="cal-chip-time">00:30</span>' in day_cell(response, "2027-01-15")


def test_given_late_evening_utc_when_opening_month_then_today_is_the_local_day(client, editor):
    login(client, editor)

    with time_machine.travel(dt.datetime(2027, 1, 14, 23, 30, tzinfo=UTC), tick=False):
        response = client.get(reverse("calendar:month_current", args=["acme"]))

    assert 'data-testid="today-marker"' in day_cell(response, "2027-01-15")
    assert 'data-testid="today-marker"' not in day_cell(response, "2027-01-14")
    assert html(response).count('data-testid="today-marker"') == 1


def test_given_chip_then_it_shows_time_title_campaign_channels_labels_status_and_version(
    client, editor, channel, campaign, label
):
    post = PostFactory(
        workspace=editor.workspace,
        title="Spring sale",
        scheduled_at=berlin(2027, 1, 12, 9, 5),
        campaign=campaign,
        channels=[channel],
    )
    post.labels.set([label])
    login(client, editor)

    cell = day_cell(client.get(month_url()), "2027-01-12")

    assert f'href="/w/acme/posts/{post.pk}/"' in cell
    assert 'data-version="1"' in cell
    assert "09:05" in cell
    assert "Spring sale" in cell
    assert f"--chip-color:{campaign.color}" in cell
    assert 'class="bi bi-mastodon"' in cell
    assert f"background:{label.color}" in cell
    assert "text-bg-secondary" in cell and "Draft" in cell


def test_given_six_posts_on_a_day_then_all_are_in_the_dom_with_a_more_toggle(
    client, editor, channel
):
    for hour in range(8, 14):
        PostFactory(
            workspace=editor.workspace, scheduled_at=berlin(2027, 1, 12, hour), channels=[channel]
        )
    login(client, editor)

    cell = day_cell(client.get(month_url()), "2027-01-12")

    assert len(chip_ids(cell)) == 6
    assert "+2 more" in cell


def test_given_editor_then_days_link_to_new_post_with_date_and_viewer_gets_none(
    client, editor, viewer
):
    login(client, editor)
    cell = day_cell(client.get(month_url()), "2027-01-20")
    assert 'data-create-url="/w/acme/posts/new/?date=2027-01-20"' in cell
    # no new posts on past days
    assert "data-create-url" not in day_cell(client.get(month_url()), "2027-01-05")

    login(client, viewer)
    assert "data-create-url" not in html(client.get(month_url()))


def test_given_ideas_then_sidebar_lists_newest_fifty_and_the_total(client, editor, channel):
    ideas = [PostFactory(workspace=editor.workspace, scheduled_at=None) for _ in range(53)]
    login(client, editor)

    response = client.get(month_url())

    sidebar = html(response).split('data-testid="ideas"')[1]
    shown = chip_ids(sidebar)
    assert len(shown) == 50
    assert shown[0] == ideas[-1].pk  # newest first
    assert ideas[0].pk not in shown
    assert 'data-testid="ideas-count">53<' in sidebar
    assert "Showing the newest 50 of 53 ideas." in sidebar
    assert 'href="/w/acme/posts/new/?idea=1"' in sidebar


def test_given_a_filter_that_hides_every_idea_then_the_sidebar_says_so_not_no_ideas_yet(
    client, editor, channel
):
    PostFactory(workspace=editor.workspace, scheduled_at=None, title="Hidden idea")
    login(client, editor)

    hiding = month_url() + f"?author={editor.user.pk + 999}"
    sidebar = html(client.get(hiding)).split('data-testid="ideas"')[1]
    plain = html(client.get(month_url())).split('data-testid="ideas"')[1]

    assert "No ideas match the filters." in sidebar and "No ideas yet" not in sidebar
    assert "Hidden idea" in plain


# --- filters --------------------------------------------------------------------------------------


@pytest.fixture
def board(workspace, members, channel, campaign, label):
    """Four posts in week 2 of 2027 that the filters tell apart, plus an idea."""
    linkedin = ChannelFactory(workspace=workspace, platform="linkedin", name="Acme LinkedIn")
    x = ChannelFactory(workspace=workspace, platform="x", name="Acme X")
    editor, manager, owner = members[Role.EDITOR], members[Role.MANAGER], members[Role.OWNER]
    posts = {
        "p1": PostFactory(
            workspace=workspace,
            title="p1",
            scheduled_at=berlin(2027, 1, 12, 9),
            author=editor.user,
            campaign=campaign,
            channels=[channel],
        ),
        "p2": PostFactory(
            workspace=workspace,
            title="p2",
            scheduled_at=berlin(2027, 1, 13, 9),
            author=manager.user,
            channels=[linkedin],
        ),
        "p3": PostFactory(
            workspace=workspace,
            title="p3",
            scheduled_at=berlin(2027, 1, 14, 9),
            author=manager.user,
            campaign=campaign,
            channels=[channel, linkedin],
        ),
        "p4": PostFactory(
            workspace=workspace,
            title="p4",
            scheduled_at=berlin(2027, 1, 15, 9),
            author=owner.user,
            channels=[x],
        ),
    }
    posts["p1"].labels.set([label])
    posts["p4"].labels.set([label])
    return {
        "posts": posts,
        "ids": {
            "mastodon": channel.pk,
            "linkedin": linkedin.pk,
            "x": x.pk,
            "campaign": campaign.pk,
            "label": label.pk,
            "editor": editor.user.pk,
            "manager": manager.user.pk,
        },
    }


FILTER_CASES = [
    ({}, {"p1", "p2", "p3", "p4"}),
    ({"channel": ["mastodon"]}, {"p1", "p3"}),
    ({"channel": ["mastodon", "linkedin"]}, {"p1", "p2", "p3"}),
    ({"campaign": "campaign"}, {"p1", "p3"}),
    ({"label": "label"}, {"p1", "p4"}),
    ({"author": "manager"}, {"p2", "p3"}),
    ({"status": "draft"}, {"p1", "p2", "p3", "p4"}),
    ({"channel": ["linkedin"], "author": "manager", "campaign": "campaign"}, {"p3"}),
    ({"channel": ["mastodon"], "label": "label"}, {"p1"}),
    ({"campaign": "campaign", "author": "editor", "channel": ["x"]}, set()),
]


def _params(ids: dict, spec: dict) -> dict:
    params = {}
    for name, value in spec.items():
        if name == "channel":
            params[name] = [ids[v] for v in value]
        elif name == "status":
            params[name] = value
        else:
            params[name] = ids[value]
    return params


def _titles(board, post_ids: set[int]) -> set[str]:
    by_id = {p.pk: name for name, p in board["posts"].items()}
    return {by_id[i] for i in post_ids}


@pytest.mark.parametrize(("spec", "expected"), FILTER_CASES)
def test_given_filters_when_opening_month_then_only_matching_posts_appear(
    client, editor, board, spec, expected
):
    login(client, editor)

    response = client.get(month_url(), _params(board["ids"], spec))

    assert _titles(board, scheduled_chip_ids(response)) == expected


@pytest.mark.parametrize(("spec", "expected"), FILTER_CASES)
def test_given_filters_when_opening_week_then_only_matching_posts_appear(
    client, editor, board, spec, expected
):
    login(client, editor)

    response = client.get(week_url(), _params(board["ids"], spec))

    assert _titles(board, scheduled_chip_ids(response)) == expected


@pytest.mark.parametrize(("spec", "expected"), FILTER_CASES)
def test_given_filters_when_opening_list_then_only_matching_posts_appear(
    client, editor, board, spec, expected
):
    login(client, editor)

    response = client.get(list_url(), {"from": "2027-01-11", **_params(board["ids"], spec)})

    assert _titles(board, list_row_ids(response)) == expected


def test_given_a_status_filter_then_posts_in_other_statuses_are_hidden(client, editor, board):
    # Only drafts exist so far; a row in another status must not match status=draft.
    Post.objects.filter(pk=board["posts"]["p4"].pk).update(status="archived")
    login(client, editor)

    response = client.get(month_url(), {"status": "draft"})

    assert _titles(board, scheduled_chip_ids(response)) == {"p1", "p2", "p3"}


def test_given_malformed_filter_values_then_they_are_ignored(client, editor, board):
    login(client, editor)

    response = client.get(month_url(), {"channel": "abc", "campaign": "x", "status": "nope"})

    assert response.status_code == 200
    assert _titles(board, scheduled_chip_ids(response)) == {"p1", "p2", "p3", "p4"}


def test_given_filters_then_idea_sidebar_is_filtered_too(client, editor, board, channel):
    idea_on_mastodon = PostFactory(
        workspace=editor.workspace, scheduled_at=None, channels=[channel]
    )
    other_idea = PostFactory(workspace=editor.workspace, scheduled_at=None)
    login(client, editor)

    response = client.get(month_url(), {"channel": channel.pk})

    sidebar = html(response).split('data-testid="ideas"')[1]
    assert chip_ids(sidebar) == [idea_on_mastodon.pk]
    assert other_idea.pk not in chip_ids(sidebar)


@pytest.mark.parametrize("view", ["month", "week", "list"])
def test_given_filters_then_navigation_links_keep_them_and_clear_link_drops_them(
    client, editor, board, view
):
    login(client, editor)
    ids = board["ids"]
    url = {"month": month_url(), "week": week_url(), "list": list_url()}[view]

    response = client.get(
        url, {"campaign": ids["campaign"], "channel": [ids["x"], ids["mastodon"]]}
    )

    expected = f"channel={ids['mastodon']}&amp;channel={ids['x']}&amp;campaign={ids['campaign']}"
    text = html(response)
    for testid in ["view-month", "view-week", "view-list"]:
        link = re.search(rf'href="([^"]+)" data-testid="{testid}"', text).group(1)
        assert expected in link
    if view != "list":
        for testid in ["nav-prev", "nav-next", "nav-today"]:
            link = re.search(rf'href="([^"]+)" data-testid="{testid}"', text).group(1)
            assert expected in link
    clear = re.search(r'href="([^"]+)" data-testid="clear-filters"', text).group(1)
    assert "campaign" not in clear and "channel" not in clear


def test_given_no_filters_then_no_clear_link(client, editor, board):
    login(client, editor)

    assert 'data-testid="clear-filters"' not in html(client.get(month_url()))


# --- week and list ----------------------------------------------------------------------------


def test_given_week_view_then_chips_sit_in_their_local_hour_slot(client, editor, channel):
    post = PostFactory(
        workspace=editor.workspace, scheduled_at=berlin(2027, 1, 13, 14, 45), channels=[channel]
    )
    login(client, editor)

    text = html(client.get(week_url()))

    slot = re.search(
        r'data-drop="slot" data-date="2027-01-13" data-hour="14"[^>]*>(.*?)</div></div>', text, re.S
    ).group(1)
    assert f'data-post-id="{post.pk}"' in slot
    assert 'data-minute="45"' in slot
    assert text.count('data-testid="hour-slot"') == 7 * 24
    assert 'data-scroll-hour="7"' in text


def test_given_list_view_then_posts_are_grouped_by_local_day_in_time_order(client, editor, channel):
    late = PostFactory(
        workspace=editor.workspace, scheduled_at=berlin(2027, 1, 12, 18), channels=[channel]
    )
    early = PostFactory(
        workspace=editor.workspace, scheduled_at=berlin(2027, 1, 12, 8), channels=[channel]
    )
    next_day = PostFactory(
        workspace=editor.workspace,
        scheduled_at=dt.datetime(2027, 1, 12, 23, 30, tzinfo=UTC),  # 00:30 on the 13th
        channels=[channel],
    )
    PostFactory(workspace=editor.workspace, scheduled_at=berlin(2027, 1, 9, 9), channels=[channel])
    login(client, editor)

    response = client.get(list_url())

    groups = response.context["groups"]
    assert [g["day"] for g in groups] == [dt.date(2027, 1, 12), dt.date(2027, 1, 13)]
    assert [e.id for e in groups[0]["entries"]] == [early.pk, late.pk]
    assert [e.id for e in groups[1]["entries"]] == [next_day.pk]


def test_given_from_param_then_list_starts_that_day(client, editor, channel):
    old = PostFactory(
        workspace=editor.workspace, scheduled_at=berlin(2027, 1, 2, 9), channels=[channel]
    )
    login(client, editor)

    assert old.pk not in list_row_ids(client.get(list_url()))
    assert old.pk in list_row_ids(client.get(list_url(), {"from": "2027-01-02"}))


def test_given_ideas_param_then_list_shows_ideas(client, editor, channel):
    idea = PostFactory(workspace=editor.workspace, scheduled_at=None, title="Maybe later")
    scheduled = PostFactory(
        workspace=editor.workspace, scheduled_at=berlin(2027, 1, 12, 9), channels=[channel]
    )
    login(client, editor)

    response = client.get(list_url(), {"ideas": "1"})

    assert list_row_ids(response) == {idea.pk}
    assert scheduled.pk not in list_row_ids(response)


def test_given_120_posts_then_list_is_paginated_by_fifty(client, editor, channel):
    for i in range(120):
        PostFactory(
            workspace=editor.workspace,
            scheduled_at=berlin(2027, 1, 11, 9) + dt.timedelta(minutes=i),
            channels=[channel],
        )
    login(client, editor)

    first = client.get(list_url())
    last = client.get(list_url(), {"page": 3})

    assert len(list_row_ids(first)) == 50
    assert len(list_row_ids(last)) == 20
    assert first.context["page"].paginator.num_pages == 3


# --- reschedule endpoints -------------------------------------------------------------------------


def reschedule_url(post: Post, ws: str = "acme") -> str:
    return reverse("calendar:post_reschedule", args=[ws, post.pk])


def unschedule_url(post: Post, ws: str = "acme") -> str:
    return reverse("calendar:post_unschedule", args=[ws, post.pk])


@pytest.fixture
def scheduled(workspace, channel):
    return PostFactory(
        workspace=workspace, scheduled_at=berlin(2027, 1, 12, 9, 15), channels=[channel]
    )


def test_given_editor_when_posting_a_new_day_then_json_ok_with_new_local_time(
    client, editor, scheduled
):
    login(client, editor)

    response = client.post(reschedule_url(scheduled), {"date": "2027-01-20", "version": "1"})

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "id": scheduled.pk,
        "version": 2,
        "date": "2027-01-20",
        "time": "09:15",
        "scheduled_at_local": "2027-01-20T09:15:00+01:00",
    }
    scheduled.refresh_from_db()
    assert scheduled.scheduled_at == berlin(2027, 1, 20, 9, 15)


def test_given_week_slot_when_posting_date_and_time_then_post_moves_to_that_hour(
    client, editor, scheduled
):
    login(client, editor)

    response = client.post(
        reschedule_url(scheduled), {"date": "2027-01-13", "time": "16:15", "version": "1"}
    )

    assert response.json()["time"] == "16:15"
    scheduled.refresh_from_db()
    assert scheduled.scheduled_at == berlin(2027, 1, 13, 16, 15)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2027-01-02", "version": "1"}, "A post cannot be scheduled in the past."),
        ({"date": "2027-01-20", "version": "5"}, "Someone else changed this post"),
        ({"date": "20.01.2027"}, "Choose a valid day (YYYY-MM-DD)."),
        ({"date": "2027-01-20", "time": "25:99"}, "Choose a valid time (HH:MM)."),
        ({"date": "2027-01-20", "version": "v1"}, "invalid version"),
    ],
)
def test_given_refused_move_when_posting_then_400_with_the_reason(
    client, editor, scheduled, data, message
):
    login(client, editor)

    response = client.post(reschedule_url(scheduled), data)

    assert response.status_code == 400
    assert message in response.json()["error"]
    scheduled.refresh_from_db()
    assert scheduled.scheduled_at == berlin(2027, 1, 12, 9, 15)
    assert scheduled.version == 1


def test_given_unpublishable_idea_when_dropped_then_400_names_channel_and_problem(
    client, editor, workspace
):
    x = ChannelFactory(workspace=workspace, platform="x", name="Acme on X")
    idea = PostFactory(workspace=workspace, scheduled_at=None, body="a" * 300, channels=[x])
    login(client, editor)

    response = client.post(reschedule_url(idea), {"date": "2027-01-20", "version": "1"})

    assert response.status_code == 400
    assert response.json()["error"] == (
        "Acme on X: The text is 300 characters long; X allows 280 (20 too many)."
    )


def test_given_viewer_when_posting_then_403(client, viewer, scheduled):
    login(client, viewer)

    response = client.post(reschedule_url(scheduled), {"date": "2027-01-20", "version": "1"})

    assert response.status_code == 403
    assert "may not reschedule" in response.json()["error"]
    assert client.post(unschedule_url(scheduled), {"version": "1"}).status_code == 403


def test_given_post_of_another_workspace_when_posting_then_404(client, editor, other_workspace):
    foreign = PostFactory(
        workspace=other_workspace,
        scheduled_at=berlin(2027, 1, 12, 9),
        channels=[other_workspace.channels.get()],
    )
    login(client, editor)

    via_own = client.post(reschedule_url(foreign), {"date": "2027-01-20"})
    via_theirs = client.post(reschedule_url(foreign, ws="other"), {"date": "2027-01-20"})

    assert via_own.status_code == 404
    assert via_theirs.status_code == 404
    assert client.post(unschedule_url(foreign), {}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.scheduled_at == berlin(2027, 1, 12, 9)


@pytest.mark.parametrize("name", ["post_reschedule", "post_unschedule"])
def test_given_get_request_when_calling_endpoint_then_405(client, editor, scheduled, name):
    login(client, editor)

    response = client.get(reverse(f"calendar:{name}", args=["acme", scheduled.pk]))

    assert response.status_code == 405


def test_given_editor_when_unscheduling_then_json_ok_and_post_is_an_idea(client, editor, scheduled):
    login(client, editor)

    response = client.post(unschedule_url(scheduled), {"version": "1"})

    assert response.json() == {
        "ok": True,
        "id": scheduled.pk,
        "version": 2,
        "date": None,
        "time": None,
        "scheduled_at_local": None,
    }
    scheduled.refresh_from_db()
    assert scheduled.scheduled_at is None


def test_given_stale_version_when_unscheduling_then_400(client, editor, scheduled):
    login(client, editor)

    response = client.post(unschedule_url(scheduled), {"version": "9"})

    assert response.status_code == 400
    assert response.json()["code"] == "stale"


def test_given_csrf_checks_when_posting_without_token_then_403(editor, scheduled):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, editor)

    response = client.post(reschedule_url(scheduled), {"date": "2027-01-20"})

    assert response.status_code == 403
    scheduled.refresh_from_db()
    assert scheduled.version == 1


# --- query budget -----------------------------------------------------------------------------


def _bulk_posts(workspace, author, count: int, *, first_day: dt.date, days: int) -> None:
    """`count` posts spread over `days` local days, each on 1-3 channels with 0-2 labels."""
    rng = random.Random(count)
    channels = [
        ChannelFactory(workspace=workspace, platform=p, name=f"{p} {i}")
        for i, p in enumerate(["mastodon", "linkedin", "bluesky", "x"])
    ]
    labels = [LabelFactory(workspace=workspace, name=f"l{i}") for i in range(3)]
    campaigns = [CampaignFactory(workspace=workspace, name=f"c{i}") for i in range(2)]
    posts = Post.objects.bulk_create(
        Post(
            workspace=workspace,
            author=author,
            title=f"Bulk {i}",
            body="Hello",
            campaign=rng.choice([*campaigns, None]),
            scheduled_at=dt.datetime.combine(
                first_day + dt.timedelta(days=i % days), dt.time(8 + i % 10), tzinfo=BERLIN
            ),
        )
        for i in range(count)
    )
    PostVariant.objects.bulk_create(
        PostVariant(post=post, channel=ch)
        for post in posts
        for ch in rng.sample(channels, rng.randint(1, 3))
    )
    Post.labels.through.objects.bulk_create(
        Post.labels.through(post_id=post.pk, label_id=lb.pk)
        for post in posts
        for lb in rng.sample(labels, rng.randint(0, 2))
    )


@pytest.mark.parametrize("count", [10, 500])
def test_given_many_posts_when_opening_month_then_query_count_does_not_grow(
    client, editor, count, django_assert_num_queries
):
    _bulk_posts(editor.workspace, editor.user, count, first_day=dt.date(2027, 1, 1), days=31)
    for _ in range(55):  # more ideas than the sidebar shows: the count query runs too
        PostFactory(workspace=editor.workspace, scheduled_at=None)
    login(client, editor)

    with django_assert_num_queries(MONTH_QUERIES):
        response = client.get(month_url())

    assert len(scheduled_chip_ids(response)) == count
    assert MONTH_QUERIES <= 15


@pytest.mark.parametrize("count", [10, 200])
def test_given_many_posts_when_opening_week_then_query_count_does_not_grow(
    client, editor, count, django_assert_num_queries
):
    _bulk_posts(editor.workspace, editor.user, count, first_day=dt.date(2027, 1, 11), days=7)
    login(client, editor)

    with django_assert_num_queries(14):  # no ideas: no idea count; + unread count, + outcomes
        response = client.get(week_url())

    assert len(scheduled_chip_ids(response)) == count


@pytest.mark.parametrize("count", [10, 200])
def test_given_many_posts_when_opening_list_then_query_count_does_not_grow(
    client, editor, count, django_assert_num_queries
):
    _bulk_posts(editor.workspace, editor.user, count, first_day=dt.date(2027, 1, 11), days=7)
    login(client, editor)

    with django_assert_num_queries(14):  # with the paginator's count; + unread count, + outcomes
        response = client.get(list_url())

    assert len(list_row_ids(response)) == min(count, 50)


def test_given_a_label_of_the_workspace_then_filter_options_are_scoped_to_it(
    client, editor, other_workspace
):
    LabelFactory(workspace=editor.workspace, name="ours")
    Label.objects.create(workspace=other_workspace, name="theirs")
    MembershipFactory(workspace=other_workspace, user=UserFactory(username="outsider"))
    login(client, editor)

    options = client.get(month_url()).context["options"]

    assert [lb.name for lb in options.labels] == ["ours"]
    assert "outsider" not in [a.name for a in options.authors]
    assert [c.name for c in options.campaigns] == []

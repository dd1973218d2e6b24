"""The bell, the notification centre and the preferences page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.models import Kind, Notification, NotificationPreference
from notifications.services import notify
from tests.conftest import login
from tests.factories import PostFactory


@pytest.fixture
def post(workspace, editor):
    return PostFactory(workspace=workspace, author=editor.user, title="Spring teaser")


def _notify(post, user, actor=None, n=1, **kwargs):
    for _ in range(n):
        notify(
            kind=kwargs.pop("kind", Kind.SUBMITTED),
            recipients=[user],
            workspace=post.workspace,
            post=post,
            actor=actor,
            **kwargs,
        )


# --- the bell ---------------------------------------------------------------------------------


def test_given_unread_notifications_then_the_navbar_shows_the_count(client, post, manager):
    _notify(post, manager.user, n=3)
    response = login(client, manager).get(reverse("notifications:list"))
    assert response.context["notifications_unread"] == 3
    assert 'data-testid="notification-bell"' in response.text


def test_given_an_anonymous_visitor_then_the_context_processor_makes_no_query(
    rf, db, django_assert_num_queries
):
    from django.contrib.auth.models import AnonymousUser

    from notifications.context_processors import notifications

    request = rf.get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert notifications(request) == {}


def test_given_a_signed_in_user_then_the_context_processor_makes_one_query(
    rf, post, manager, django_assert_num_queries
):
    from notifications.context_processors import notifications

    _notify(post, manager.user, n=2)
    request = rf.get("/")
    request.user = manager.user
    with django_assert_num_queries(1):
        assert notifications(request) == {"notifications_unread": 2}


def test_the_menu_lists_the_latest_eight_newest_first(client, post, manager, editor):
    for n in range(10):
        _notify(post, manager.user, actor=editor.user, params={"post": f"Post {n}"})
    response = login(client, manager).get(reverse("notifications:menu"))
    assert response.status_code == 200
    items = response.context["items"]
    assert [item.params["post"] for item in items] == [f"Post {n}" for n in range(9, 1, -1)]
    assert response.text.count('data-testid="notification"') == 8
    assert "editor submitted “Post 9” for review" in response.text


def test_the_menu_costs_a_fixed_number_of_queries(client, post, manager, django_assert_num_queries):
    _notify(post, manager.user, n=8)
    login(client, manager)
    # session, user, latest 8 (with workspace), unread count
    with django_assert_num_queries(4):
        client.get(reverse("notifications:menu"))


def test_the_menu_escapes_names(client, post, manager):
    _notify(post, manager.user, params={"post": "<script>alert(1)</script>"})
    response = login(client, manager).get(reverse("notifications:menu"))
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)" in response.text


def test_pages_need_a_login(client, db):
    for name in ["list", "menu", "preferences"]:
        response = client.get(reverse(f"notifications:{name}"))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# --- the centre -------------------------------------------------------------------------------


def test_the_centre_lists_unread_first_then_read(client, post, manager):
    _notify(post, manager.user, params={"post": "old unread"})
    _notify(post, manager.user, params={"post": "newer read"})
    Notification.objects.filter(params__post="newer read").update(read_at=post.scheduled_at)

    response = login(client, manager).get(reverse("notifications:list"))

    titles = [item.params["post"] for item in response.context["page"]]
    assert titles == ["old unread", "newer read"]


def test_the_unread_filter_hides_read_ones(client, post, manager):
    _notify(post, manager.user, params={"post": "unread one"})
    _notify(post, manager.user, params={"post": "read one"})
    Notification.objects.filter(params__post="read one").update(read_at=post.scheduled_at)

    response = login(client, manager).get(reverse("notifications:list") + "?show=unread")

    assert [item.params["post"] for item in response.context["page"]] == ["unread one"]


def test_the_centre_is_paginated_with_a_fixed_query_count(
    client, post, manager, django_assert_num_queries
):
    _notify(post, manager.user, n=30)
    login(client, manager)
    # session, user, page count, page rows (with workspace), unread count for the navbar
    with django_assert_num_queries(5):
        response = client.get(reverse("notifications:list"))
    assert len(response.context["page"]) == 25
    second = client.get(reverse("notifications:list") + "?page=2")
    assert len(second.context["page"]) == 5


def test_the_centre_shows_only_my_notifications(client, post, manager, owner):
    _notify(post, owner.user, params={"post": "for the owner"})
    response = login(client, manager).get(reverse("notifications:list"))
    assert "for the owner" not in response.text
    assert 'data-testid="no-notifications"' in response.text


# --- opening and marking read ------------------------------------------------------------------


def test_given_an_unread_notification_when_opened_then_it_is_read_and_redirects(
    client, post, manager
):
    _notify(post, manager.user)
    item = Notification.objects.get()

    response = login(client, manager).post(reverse("notifications:open", args=[item.pk]))

    assert response.status_code == 302
    assert response["Location"] == f"/w/acme/posts/{post.pk}/"
    item.refresh_from_db()
    assert item.read_at is not None


def test_opening_needs_post(client, post, manager):
    _notify(post, manager.user)
    item = Notification.objects.get()
    response = login(client, manager).get(reverse("notifications:open", args=[item.pk]))
    assert response.status_code == 405
    item.refresh_from_db()
    assert item.read_at is None


def test_given_another_users_notification_when_opened_then_404_and_untouched(
    client, post, manager, owner
):
    _notify(post, owner.user)
    theirs = Notification.objects.get()

    response = login(client, manager).post(reverse("notifications:open", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example/phish",
        "javascript:alert(1)",
        "w/acme/",
    ],
)
def test_given_a_foreign_target_when_opened_then_it_goes_to_the_centre_instead(
    client, post, manager, url
):
    # notify() refuses such links; a row written some other way must still not redirect away.
    item = Notification.objects.create(
        recipient=manager.user, kind=Kind.SUBMITTED, workspace=post.workspace, url=url
    )
    response = login(client, manager).post(reverse("notifications:open", args=[item.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:list")


def test_mark_all_read_marks_only_mine_and_returns_to_next(client, post, manager, owner):
    _notify(post, manager.user, n=2)
    _notify(post, owner.user)

    response = login(client, manager).post(
        reverse("notifications:read_all"), {"next": "/w/acme/month/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/month/"
    assert manager.user.notifications.filter(read_at__isnull=True).count() == 0
    assert owner.user.notifications.filter(read_at__isnull=True).count() == 1


def test_mark_all_read_refuses_a_foreign_next(client, post, manager):
    _notify(post, manager.user)
    response = login(client, manager).post(
        reverse("notifications:read_all"), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("notifications:list")


def test_mark_all_read_from_the_menu_answers_the_menu_with_a_zero_badge(client, post, manager):
    _notify(post, manager.user, n=2)
    response = login(client, manager).post(
        reverse("notifications:read_all"), headers={"hx-request": "true"}
    )
    assert response.status_code == 200
    assert 'data-testid="notification-menu"' in response.text
    assert 'id="notification-badge" hx-swap-oob="true"' in response.text
    assert response.context["notifications_unread"] == 0


# --- preferences ------------------------------------------------------------------------------


def test_the_preferences_page_lists_every_kind_switched_on_by_default(client, manager):
    response = login(client, manager).get(reverse("notifications:preferences"))
    assert response.status_code == 200
    for kind in Kind:
        assert f'data-testid="preference-{kind.value}"' in response.text
    assert response.text.count("checked") == 2 * len(Kind)


def test_the_user_menu_links_to_the_preferences(client, manager):
    response = login(client, manager).get(reverse("notifications:list"))
    assert 'data-testid="notification-settings-link"' in response.text


def test_given_switches_turned_off_when_saved_then_stored_per_kind_and_channel(client, manager):
    data = {f"in_app-{kind}": "on" for kind in Kind.values}
    data |= {f"email-{kind}": "on" for kind in Kind.values}
    del data[f"email-{Kind.SUBMITTED}"]
    del data[f"in_app-{Kind.PUBLISH_FAILED}"]

    response = login(client, manager).post(reverse("notifications:preferences"), data)

    assert response.status_code == 302
    stored = {
        (p.kind, p.in_app, p.email)
        for p in NotificationPreference.objects.filter(user=manager.user)
    }
    assert stored == {(Kind.SUBMITTED, True, False), (Kind.PUBLISH_FAILED, False, True)}
    page = client.get(reverse("notifications:preferences"))
    assert page.text.count("checked") == 2 * len(Kind) - 2


def test_given_a_switch_turned_back_on_then_the_row_is_removed(client, manager):
    NotificationPreference.objects.create(user=manager.user, kind=Kind.APPROVED, email=False)
    data = {f"in_app-{kind}": "on" for kind in Kind.values}
    data |= {f"email-{kind}": "on" for kind in Kind.values}

    login(client, manager).post(reverse("notifications:preferences"), data)

    assert not NotificationPreference.objects.filter(user=manager.user).exists()


def test_preferences_of_one_user_do_not_touch_another(client, manager, owner):
    NotificationPreference.objects.create(user=owner.user, kind=Kind.APPROVED, email=False)
    login(client, manager).post(reverse("notifications:preferences"), {})
    assert NotificationPreference.objects.filter(user=owner.user).count() == 1
    assert NotificationPreference.objects.filter(user=manager.user).count() == len(Kind)

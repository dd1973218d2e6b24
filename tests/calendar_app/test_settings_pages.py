"""Workspace settings pages: what each role sees, what it may POST, and 404 across workspaces."""

from __future__ import annotations

import pytest
from django.urls import reverse

from calendar_app.models import Campaign, Channel, ChannelState, Label, Membership, Role, Workspace
from tests.conftest import login
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    LabelFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

OWNER, MANAGER, EDITOR, VIEWER = Role.OWNER, Role.MANAGER, Role.EDITOR, Role.VIEWER


def url(name: str, *args) -> str:
    return reverse(f"calendar:{name}", args=["acme", *args])


@pytest.fixture
def setup(members, channel, campaign, label):
    return {"channel": channel, "campaign": campaign, "label": label}


# --- looking ------------------------------------------------------------------------------------

LIST_PAGES = ["settings", "channels", "campaigns", "labels", "members"]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", LIST_PAGES)
def test_given_any_member_when_opening_a_settings_page_then_it_renders_with_the_sub_nav(
    client, members, setup, role, page
):
    response = login(client, members[role]).get(url(page))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="settings-nav"' in html
    assert 'aria-current="page"' in html


def test_given_an_anonymous_visitor_when_opening_settings_then_the_login_page(client, setup):
    response = client.get(url("settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("page", "role", "editable"),
    [
        ("settings", OWNER, True),
        ("settings", MANAGER, False),
        ("channels", MANAGER, True),
        ("channels", EDITOR, False),
        ("campaigns", MANAGER, True),
        ("campaigns", EDITOR, False),
        ("labels", EDITOR, True),
        ("labels", VIEWER, False),
        ("members", OWNER, True),
        ("members", MANAGER, False),
    ],
)
def test_given_a_role_when_opening_a_list_then_read_only_unless_it_may_manage(
    client, members, setup, page, role, editable
):
    html = login(client, members[role]).get(url(page)).content.decode()
    assert ('data-testid="read-only"' not in html) is editable


def test_given_a_channel_list_then_it_shows_platform_icon_state_and_pause_button(
    client, manager, channel
):
    ChannelFactory(workspace=channel.workspace, platform="instagram", name="Insta", state="paused")
    html = login(client, manager).get(url("channels")).content.decode()
    assert 'class="bi bi-mastodon' in html
    assert 'class="bi bi-instagram' in html
    assert html.count('data-testid="channel-state"') == 2
    assert 'value="pause"' in html
    assert 'value="resume"' in html


def test_given_campaigns_and_labels_then_their_colours_are_shown(client, editor, campaign, label):
    assert campaign.color in login(client, editor).get(url("campaigns")).content.decode()
    assert label.color in client.get(url("labels")).content.decode()


@pytest.mark.parametrize(
    ("page", "factory", "queries"),
    [
        # channels: one more, for the planned posts each channel holds
        ("channels", lambda ws: ChannelFactory(workspace=ws), 7),
        ("campaigns", lambda ws: CampaignFactory(workspace=ws), 6),
        ("labels", lambda ws: LabelFactory(workspace=ws), 6),
        # members: two more, for the invitations (shown to those who may invite) and the
        # locked-out logins (to owners)
        ("members", None, 8),
    ],
)
def test_given_many_rows_when_listing_then_the_query_count_stays_fixed(
    client, owner, workspace, django_assert_num_queries, page, factory, queries
):
    login(client, owner)
    for _ in range(5):
        if factory:
            factory(workspace)
        else:
            Membership.objects.create(workspace=workspace, user=UserFactory(), role=EDITOR)
    # session + user, membership, my workspaces, the list
    with django_assert_num_queries(queries):  # incl. the navbar's unread notification count
        assert client.get(url(page)).status_code == 200


# --- general ------------------------------------------------------------------------------------


def test_given_an_owner_when_saving_the_general_form_then_the_workspace_changes(
    client, owner, workspace
):
    response = login(client, owner).post(
        url("settings"), {"name": "Acme AG", "timezone": "Europe/Zurich", "language": "en"}
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.timezone, workspace.language) == (
        "Acme AG",
        "Europe/Zurich",
        "en",
    )


def test_given_planned_posts_when_the_time_zone_changes_then_the_owner_is_told_what_shifts(
    client, owner, workspace
):
    import datetime as dt

    from django.utils import timezone

    from tests.factories import PostFactory

    nine_berlin = dt.datetime(2031, 3, 3, 8, 0, tzinfo=dt.UTC)  # 09:00 in Berlin (CET)
    PostFactory(workspace=workspace, scheduled_at=nine_berlin)
    PostFactory(workspace=workspace, scheduled_at=nine_berlin + dt.timedelta(days=1))
    PostFactory(workspace=workspace, scheduled_at=timezone.now() - dt.timedelta(days=1))  # past

    response = login(client, owner).post(
        url("settings"),
        {"name": "Acme", "timezone": "America/New_York", "language": "en"},
        follow=True,
    )

    text = " ".join(str(m) for m in response.context["messages"])
    assert "2 planned posts keep their exact moment" in text
    assert "Europe/Berlin" in text and "America/New_York" in text
    assert "09:00 in Europe/Berlin" in text  # the next post, before
    assert "03:00 in America/New_York" in text  # and after
    assert Workspace.objects.get(pk=workspace.pk).timezone == "America/New_York"


def test_given_the_same_time_zone_when_saving_then_nothing_is_said_about_times(
    client, owner, workspace
):
    import datetime as dt

    from tests.factories import PostFactory

    PostFactory(workspace=workspace, scheduled_at=dt.datetime(2031, 3, 3, 8, 0, tzinfo=dt.UTC))
    response = login(client, owner).post(
        url("settings"),
        {"name": "Acme 2", "timezone": "Europe/Berlin", "language": "de"},
        follow=True,
    )
    assert not any("exact moment" in str(m) for m in response.context["messages"])


def test_given_an_unknown_time_zone_when_saving_then_the_form_says_so(client, owner, workspace):
    response = login(client, owner).post(
        url("settings"), {"name": "Acme", "timezone": "Mars/Olympus", "language": "de"}
    )
    assert response.status_code == 200
    assert "Mars/Olympus is not one of the available choices" in response.content.decode()
    assert Workspace.objects.get(pk=workspace.pk).timezone == "Europe/Berlin"


def test_given_a_manager_when_opening_general_then_the_form_is_disabled(client, manager):
    html = login(client, manager).get(url("settings")).content.decode()
    assert "disabled" in html
    assert "Only owners may change the workspace settings." in html


# --- refusals -----------------------------------------------------------------------------------

# (role, url name, url args from setup, POST data, message)
REFUSALS = [
    (
        MANAGER,
        "settings",
        None,
        {"name": "X", "timezone": "UTC", "language": "en"},
        "Only owners may change the workspace settings.",
    ),
    (
        EDITOR,
        "channel_create",
        None,
        {"platform": "x", "name": "X"},
        "Only managers and owners may manage channels.",
    ),
    (
        EDITOR,
        "channel_edit",
        "channel",
        {"action": "pause"},
        "Only managers and owners may manage channels.",
    ),
    (
        EDITOR,
        "campaign_create",
        None,
        {"name": "New", "color": "#000000"},
        "Only managers and owners may manage campaigns.",
    ),
    (
        EDITOR,
        "campaign_edit",
        "campaign",
        {"action": "delete"},
        "Only managers and owners may manage campaigns.",
    ),
    (
        VIEWER,
        "label_create",
        None,
        {"name": "new", "color": "#000000"},
        "Your role may not manage labels in this workspace.",
    ),
    (
        VIEWER,
        "label_edit",
        "label",
        {"action": "delete"},
        "Your role may not manage labels in this workspace.",
    ),
    (
        EDITOR,
        "members",
        None,
        {"action": "invite", "email": "viewer@example.com", "role": "viewer"},
        "Only managers and owners may invite members.",
    ),
]


@pytest.mark.parametrize(("role", "name", "obj", "data", "message"), REFUSALS)
def test_given_a_role_without_permission_when_posting_then_403_with_a_message_and_no_change(
    client, members, setup, role, name, obj, data, message
):
    before = (
        Channel.objects.count(),
        Campaign.objects.count(),
        Label.objects.count(),
        list(Channel.objects.values_list("state", flat=True)),
        list(Membership.objects.values_list("role", flat=True).order_by("pk")),
        Workspace.objects.get(slug="acme").name,
    )
    args = [setup[obj].pk] if obj else []
    response = login(client, members[role]).post(url(name, *args), data)
    assert response.status_code == 403
    assert message in response.content.decode()
    after = (
        Channel.objects.count(),
        Campaign.objects.count(),
        Label.objects.count(),
        list(Channel.objects.values_list("state", flat=True)),
        list(Membership.objects.values_list("role", flat=True).order_by("pk")),
        Workspace.objects.get(slug="acme").name,
    )
    assert after == before


@pytest.mark.parametrize(
    ("role", "name"),
    [(EDITOR, "channel_create"), (EDITOR, "campaign_create"), (VIEWER, "label_create")],
)
def test_given_a_role_without_permission_when_opening_a_new_form_then_403(
    client, members, role, name
):
    assert login(client, members[role]).get(url(name)).status_code == 403


@pytest.mark.parametrize(
    ("role", "name", "obj"),
    [(EDITOR, "channel_edit", "channel"), (EDITOR, "campaign_edit", "campaign")],
)
def test_given_a_role_without_permission_when_opening_an_edit_form_then_read_only(
    client, members, setup, role, name, obj
):
    response = login(client, members[role]).get(url(name, setup[obj].pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="read-only"' in html
    assert 'data-testid="delete"' not in html
    assert "disabled" in html


# --- 404 across workspaces ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "lookup"),
    [
        ("channel_edit", lambda ws: ws.channels.get().pk),
        ("campaign_edit", lambda ws: ws.campaigns.get().pk),
        ("label_edit", lambda ws: LabelFactory(workspace=ws).pk),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_given_another_workspaces_object_when_addressed_through_mine_then_404(
    client, owner, other_workspace, name, lookup, method
):
    pk = lookup(other_workspace)
    response = getattr(login(client, owner), method)(url(name, pk), {"action": "delete"})
    assert response.status_code == 404
    assert other_workspace.channels.get().state == ChannelState.CONNECTED
    assert other_workspace.campaigns.exists()


@pytest.mark.parametrize("page", LIST_PAGES)
def test_given_a_workspace_i_am_not_in_when_opening_its_settings_then_404(
    client, owner, other_workspace, page
):
    response = login(client, owner).get(reverse(f"calendar:{page}", args=["other"]))
    assert response.status_code == 404


def test_given_another_workspaces_member_when_removing_through_mine_then_404(
    client, owner, other_workspace
):
    theirs = other_workspace.memberships.get()
    response = login(client, owner).post(url("members"), {"action": "remove", "member": theirs.pk})
    assert response.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


# --- channels -----------------------------------------------------------------------------------


def test_given_a_manager_when_adding_a_channel_then_it_is_listed(client, manager):
    response = login(client, manager).post(
        url("channel_create"),
        {"platform": "linkedin", "name": "Acme LinkedIn", "handle": "acme", "account_id": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == url("channels")
    assert "Acme LinkedIn" in client.get(url("channels")).content.decode()


def test_given_a_duplicate_account_when_adding_a_channel_then_the_field_shows_why(
    client, manager, channel
):
    response = login(client, manager).post(
        url("channel_create"),
        {"platform": "mastodon", "name": "Again", "account_id": channel.account_id},
    )
    assert response.status_code == 200
    assert "already has a Mastodon channel with this account id" in response.content.decode()


@pytest.mark.parametrize(
    ("action", "state"), [("pause", ChannelState.PAUSED), ("resume", ChannelState.CONNECTED)]
)
def test_given_a_manager_when_pausing_or_resuming_then_the_state_changes(
    client, manager, channel, action, state
):
    if action == "resume":
        Channel.objects.filter(pk=channel.pk).update(state=ChannelState.PAUSED)
    response = login(client, manager).post(url("channel_edit", channel.pk), {"action": action})
    assert response.status_code == 302
    assert Channel.objects.get(pk=channel.pk).state == state


def test_given_a_manager_when_renaming_a_channel_then_it_is_saved(client, manager, channel):
    login(client, manager).post(
        url("channel_edit", channel.pk),
        {"platform": "mastodon", "name": "Renamed", "handle": "", "account_id": ""},
    )
    assert Channel.objects.get(pk=channel.pk).name == "Renamed"


# --- campaigns ----------------------------------------------------------------------------------


def test_given_a_manager_when_creating_a_campaign_then_it_is_saved(client, manager):
    response = login(client, manager).post(
        url("campaign_create"),
        {
            "name": "Herbst",
            "color": "#aa5500",
            "starts_on": "2026-09-01",
            "ends_on": "2026-10-31",
        },
    )
    assert response.status_code == 302
    assert Campaign.objects.get(name="Herbst").color == "#aa5500"


def test_given_an_end_before_start_when_creating_a_campaign_then_the_end_field_says_why(
    client, manager
):
    response = login(client, manager).post(
        url("campaign_create"),
        {"name": "Bad", "color": "#aa5500", "starts_on": "2026-09-02", "ends_on": "2026-09-01"},
    )
    assert response.status_code == 200
    assert "A campaign cannot end before it starts." in response.content.decode()
    assert not Campaign.objects.filter(name="Bad").exists()


def test_given_a_taken_name_when_creating_a_campaign_then_a_form_error_not_a_500(
    client, manager, campaign
):
    response = login(client, manager).post(
        url("campaign_create"), {"name": campaign.name, "color": "#000000"}
    )
    assert response.status_code == 200
    assert "already exists in this workspace" in response.content.decode()


def test_given_a_campaign_with_posts_when_deleted_then_gone_and_posts_kept(
    client, manager, campaign, workspace
):
    post = PostFactory(workspace=workspace, campaign=campaign)
    html = login(client, manager).get(url("campaign_edit", campaign.pk)).content.decode()
    assert 'data-testid="confirm-delete"' in html
    response = client.post(url("campaign_edit", campaign.pk), {"action": "delete"})
    assert response.status_code == 302
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    post.refresh_from_db()
    assert post.campaign_id is None


# --- labels -------------------------------------------------------------------------------------


def test_given_an_editor_when_creating_and_deleting_a_label_then_both_happen(client, editor):
    login(client, editor).post(url("label_create"), {"name": "Rezept", "color": "#198754"})
    label = Label.objects.get(name="Rezept")
    client.post(url("label_edit", label.pk), {"action": "delete"})
    assert not Label.objects.filter(pk=label.pk).exists()


def test_given_a_bad_colour_when_saving_a_label_then_a_colour_error(client, editor, label):
    response = login(client, editor).post(
        url("label_edit", label.pk), {"name": "evergreen", "color": "green"}
    )
    assert response.status_code == 200
    assert "Enter a colour as #RRGGBB" in response.content.decode()


# --- members ------------------------------------------------------------------------------------


def test_given_an_owner_when_changing_a_role_then_saved(client, owner, editor):
    login(client, owner).post(
        url("members"), {"action": "set_role", "member": editor.pk, "role": "viewer"}
    )
    assert Membership.objects.get(pk=editor.pk).role == VIEWER


def test_given_the_last_owner_when_demoting_themselves_then_the_page_says_why(client, owner):
    response = login(client, owner).post(
        url("members"), {"action": "set_role", "member": owner.pk, "role": "viewer"}, follow=True
    )
    assert "is the last owner of this workspace" in response.content.decode()
    assert Membership.objects.get(pk=owner.pk).role == OWNER


def test_given_an_owner_when_removing_a_member_then_gone(client, owner, viewer):
    response = login(client, owner).post(url("members"), {"action": "remove", "member": viewer.pk})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=viewer.pk).exists()


@pytest.mark.parametrize("member", ["", "abc"])
def test_given_a_malformed_member_id_then_404_not_500(client, owner, member):
    response = login(client, owner).post(url("members"), {"action": "remove", "member": member})
    assert response.status_code == 404


def test_given_two_owners_when_one_removes_themselves_then_they_land_on_the_home_page(
    client, owner, workspace
):
    MembershipFactory(workspace=workspace, role=OWNER)
    response = login(client, owner).post(url("members"), {"action": "remove", "member": owner.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("calendar:home")
    assert client.get(url("members")).status_code == 404


def test_given_an_owner_when_stepping_down_to_manager_then_the_members_page_turns_read_only(
    client, owner, workspace
):
    MembershipFactory(workspace=workspace, role=OWNER)
    response = login(client, owner).post(
        url("members"), {"action": "set_role", "member": owner.pk, "role": "manager"}, follow=True
    )
    assert response.status_code == 200
    assert 'data-testid="read-only"' in response.content.decode()
    assert Membership.objects.get(pk=owner.pk).role == MANAGER

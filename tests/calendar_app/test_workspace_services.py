"""Workspace settings services: permissions per role, validation, the last-owner rule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from calendar_app.models import (
    Campaign,
    Channel,
    ChannelState,
    Label,
    Membership,
    Post,
    Role,
    Workspace,
)
from calendar_app.services import workspaces as svc
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    LabelFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

OWNER, MANAGER, EDITOR, VIEWER = Role.OWNER, Role.MANAGER, Role.EDITOR, Role.VIEWER


def messages_of(exc: ValidationError) -> list[str]:
    return exc.messages


# --- the permission table -----------------------------------------------------------------------

# name -> (allowed roles, call(membership, objects))
CALLS = {
    "workspace_update": (
        {OWNER},
        lambda m, o: svc.workspace_update(
            membership=m, name="Acme GmbH", timezone="Europe/Vienna", language="en"
        ),
    ),
    "channel_create": (
        {OWNER, MANAGER},
        lambda m, o: svc.channel_create(membership=m, platform="linkedin", name="Acme LinkedIn"),
    ),
    "channel_update": (
        {OWNER, MANAGER},
        lambda m, o: svc.channel_update(
            membership=m, channel_id=o["channel"].pk, platform="mastodon", name="Renamed"
        ),
    ),
    "channel_pause": (
        {OWNER, MANAGER},
        lambda m, o: svc.channel_pause(membership=m, channel_id=o["channel"].pk),
    ),
    "channel_resume": (
        {OWNER, MANAGER},
        lambda m, o: svc.channel_resume(membership=m, channel_id=o["channel"].pk),
    ),
    "campaign_create": (
        {OWNER, MANAGER},
        lambda m, o: svc.campaign_create(membership=m, name="Autumn", color="#ff8800"),
    ),
    "campaign_update": (
        {OWNER, MANAGER},
        lambda m, o: svc.campaign_update(
            membership=m, campaign_id=o["campaign"].pk, name="Spring 2", color="#ff8800"
        ),
    ),
    "campaign_delete": (
        {OWNER, MANAGER},
        lambda m, o: svc.campaign_delete(membership=m, campaign_id=o["campaign"].pk),
    ),
    "label_create": (
        {OWNER, MANAGER, EDITOR},
        lambda m, o: svc.label_create(membership=m, name="howto", color="#123456"),
    ),
    "label_update": (
        {OWNER, MANAGER, EDITOR},
        lambda m, o: svc.label_update(
            membership=m, label_id=o["label"].pk, name="evergreen!", color="#123456"
        ),
    ),
    "label_delete": (
        {OWNER, MANAGER, EDITOR},
        lambda m, o: svc.label_delete(membership=m, label_id=o["label"].pk),
    ),
    "invitation_create": (
        {OWNER, MANAGER},
        lambda m, o: svc.invitation_create(membership=m, email="newcomer@example.com", role=EDITOR),
    ),
    "member_set_role": (
        {OWNER},
        lambda m, o: svc.member_set_role(membership=m, member_id=o["target"].pk, role=MANAGER),
    ),
    "member_remove": (
        {OWNER},
        lambda m, o: svc.member_remove(membership=m, member_id=o["target"].pk),
    ),
}


@pytest.fixture
def objects(workspace, members, channel, campaign, label):
    UserFactory(username="newcomer")
    target = MembershipFactory(workspace=workspace, user=UserFactory(username="target"))
    return {"channel": channel, "campaign": campaign, "label": label, "target": target}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(CALLS))
def test_given_a_role_when_calling_a_service_then_the_permission_table_decides(
    name, role, members, objects
):
    allowed, call = CALLS[name]
    if role in allowed:
        call(members[role], objects)
    else:
        with pytest.raises(PermissionDenied):
            call(members[role], objects)


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (VIEWER, "Only managers and owners may manage channels."),
        (EDITOR, "Only managers and owners may manage channels."),
    ],
)
def test_given_a_non_manager_when_creating_a_channel_then_the_refusal_says_why(
    role, message, members
):
    with pytest.raises(PermissionDenied) as exc:
        svc.channel_create(membership=members[role], platform="x", name="X")
    assert str(exc.value) == message
    assert not Channel.objects.filter(name="X").exists()


# --- workspace ----------------------------------------------------------------------------------


def test_given_an_owner_when_updating_the_workspace_then_name_timezone_and_language_change(owner):
    svc.workspace_update(
        membership=owner, name="  Acme GmbH ", timezone="America/New_York", language="en"
    )
    workspace = Workspace.objects.get(pk=owner.workspace_id)
    assert (workspace.name, workspace.timezone, workspace.language) == (
        "Acme GmbH",
        "America/New_York",
        "en",
    )
    assert owner.workspace.tz.key == "America/New_York"


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus is not a known time zone."),
        ({"timezone": ""}, "timezone", "This field cannot be blank."),
        ({"name": "  "}, "name", "This field cannot be blank."),
        ({"language": "fr"}, "language", "Value 'fr' is not a valid choice."),
    ],
)
def test_given_bad_input_when_updating_the_workspace_then_a_field_error_and_nothing_changes(
    owner, kwargs, field, message
):
    data = {"name": "Acme", "timezone": "Europe/Berlin", "language": "de", **kwargs}
    with pytest.raises(ValidationError) as exc:
        svc.workspace_update(membership=owner, **data)
    assert exc.value.message_dict[field] == [message]
    assert Workspace.objects.get(pk=owner.workspace_id).timezone == "Europe/Berlin"


# --- channels -----------------------------------------------------------------------------------


def test_given_a_manager_when_adding_a_channel_by_hand_then_it_waits_for_its_account(manager):
    channel = svc.channel_create(
        membership=manager,
        platform="bluesky",
        name=" Acme Bluesky ",
        handle="@acme.bsky.social",
        account_id="did:plc:abc",
    )
    channel.refresh_from_db()
    assert (channel.workspace_id, channel.platform, channel.name, channel.state) == (
        manager.workspace_id,
        "bluesky",
        "Acme Bluesky",
        ChannelState.NEEDS_RECONNECT,  # no credentials yet: publishing holds its posts
    )


def test_given_a_manual_channel_when_added_then_it_is_ready_at_once(manager):
    channel = svc.channel_create(membership=manager, platform="manual", name="Xing")

    assert channel.state == ChannelState.CONNECTED


def test_given_an_unknown_platform_when_creating_a_channel_then_a_field_error(manager):
    with pytest.raises(ValidationError) as exc:
        svc.channel_create(membership=manager, platform="myspace", name="Old")
    assert "platform" in exc.value.message_dict


def test_given_the_same_account_twice_when_creating_a_channel_then_a_clear_error(manager, channel):
    with pytest.raises(ValidationError) as exc:
        svc.channel_create(
            membership=manager, platform="mastodon", name="Again", account_id=channel.account_id
        )
    assert exc.value.message_dict["account_id"] == [
        "This workspace already has a Mastodon channel with this account id."
    ]


def test_given_two_manual_channels_without_account_ids_then_both_are_allowed(manager):
    svc.channel_create(membership=manager, platform="manual", name="Xing")
    svc.channel_create(membership=manager, platform="manual", name="Newsletter")
    assert Channel.objects.filter(platform="manual").count() == 2


def test_given_a_channel_when_paused_and_resumed_then_the_state_follows(manager, channel):
    svc.channel_pause(membership=manager, channel_id=channel.pk)
    assert Channel.objects.get(pk=channel.pk).state == ChannelState.PAUSED
    svc.channel_resume(membership=manager, channel_id=channel.pk)
    assert Channel.objects.get(pk=channel.pk).state == ChannelState.CONNECTED


def test_given_a_channel_when_updated_then_its_fields_change(manager, channel):
    svc.channel_update(
        membership=manager,
        channel_id=channel.pk,
        platform="mastodon",
        name="Acme on Mastodon",
        handle="@acme@mastodon.social",
        account_id="42",
    )
    channel.refresh_from_db()
    assert (channel.name, channel.handle, channel.account_id) == (
        "Acme on Mastodon",
        "@acme@mastodon.social",
        "42",
    )


def test_given_a_channel_with_posts_when_its_platform_changes_then_refused(
    manager, channel, workspace
):
    PostFactory(workspace=workspace, channels=[channel])
    with pytest.raises(ValidationError) as exc:
        svc.channel_update(
            membership=manager, channel_id=channel.pk, platform="instagram", name=channel.name
        )
    assert exc.value.message_dict["platform"] == [
        "The platform of a channel that already has posts cannot be changed. Add a new channel instead."
    ]
    assert Channel.objects.get(pk=channel.pk).platform == "mastodon"


def test_given_a_channel_without_posts_when_its_platform_changes_then_allowed(manager, channel):
    svc.channel_update(membership=manager, channel_id=channel.pk, platform="x", name="X")
    assert Channel.objects.get(pk=channel.pk).platform == "x"


# --- campaigns ----------------------------------------------------------------------------------


def test_given_valid_dates_when_creating_a_campaign_then_it_is_saved(manager):
    campaign = svc.campaign_create(
        membership=manager,
        name="Weihnachten",
        color="#c92a2a",
        starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 1),
    )
    assert Campaign.objects.get(pk=campaign.pk).ends_on == dt.date(2026, 12, 1)


def test_given_an_end_before_the_start_when_saving_a_campaign_then_a_clear_error(manager):
    with pytest.raises(ValidationError) as exc:
        svc.campaign_create(
            membership=manager,
            name="Backwards",
            starts_on=dt.date(2026, 5, 2),
            ends_on=dt.date(2026, 5, 1),
        )
    assert exc.value.message_dict["ends_on"] == [
        "A campaign cannot end before it starts. Choose an end on or after the start."
    ]
    assert not Campaign.objects.filter(name="Backwards").exists()


@pytest.mark.parametrize("name", ["Spring launch", "spring LAUNCH", " Spring launch "])
def test_given_a_taken_name_when_creating_a_campaign_then_a_validation_error_not_a_500(
    manager, campaign, name
):
    with pytest.raises(ValidationError) as exc:
        svc.campaign_create(membership=manager, name=name)
    assert exc.value.message_dict["name"] == [
        f"A campaign named “{name.strip()}” already exists in this workspace."
    ]


def test_given_a_name_taken_in_another_workspace_then_the_campaign_is_allowed(
    manager, other_workspace
):
    svc.campaign_create(membership=manager, name="Other campaign")
    assert Campaign.objects.filter(name="Other campaign").count() == 2


def test_given_a_campaign_when_renamed_to_another_campaigns_name_then_refused(
    manager, campaign, workspace
):
    other = CampaignFactory(workspace=workspace, name="Summer")
    with pytest.raises(ValidationError):
        svc.campaign_update(
            membership=manager, campaign_id=other.pk, name="Spring launch", color="#000000"
        )


def test_given_a_bad_colour_when_saving_a_campaign_then_a_colour_error(manager):
    with pytest.raises(ValidationError) as exc:
        svc.campaign_create(membership=manager, name="Colourful", color="red")
    assert exc.value.message_dict["color"] == ["Enter a colour as #RRGGBB, for example #0d6efd."]


def test_given_a_campaign_with_posts_when_deleted_then_the_posts_stay_without_it(
    manager, campaign, workspace
):
    post = PostFactory(workspace=workspace, campaign=campaign)
    svc.campaign_delete(membership=manager, campaign_id=campaign.pk)
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert Post.objects.get(pk=post.pk).campaign is None


# --- labels -------------------------------------------------------------------------------------


def test_given_an_editor_when_creating_a_label_then_it_is_saved(editor):
    label = svc.label_create(membership=editor, name="behind the scenes", color="#fd7e14")
    assert Label.objects.get(pk=label.pk).workspace_id == editor.workspace_id


def test_given_a_taken_name_when_creating_a_label_then_a_clear_error(editor, label):
    with pytest.raises(ValidationError) as exc:
        svc.label_create(membership=editor, name="Evergreen")
    assert exc.value.message_dict["name"] == [
        "A label named “Evergreen” already exists in this workspace."
    ]


def test_given_a_label_when_renamed_to_its_own_name_in_other_case_then_allowed(editor, label):
    svc.label_update(membership=editor, label_id=label.pk, name="Evergreen", color="#000000")
    assert Label.objects.get(pk=label.pk).name == "Evergreen"


def test_given_a_label_on_a_post_when_deleted_then_the_post_loses_it(editor, label, workspace):
    post = PostFactory(workspace=workspace)
    post.labels.add(label)
    svc.label_delete(membership=editor, label_id=label.pk)
    assert list(Post.objects.get(pk=post.pk).labels.all()) == []


# --- cross-workspace ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda m, ws: svc.channel_pause(membership=m, channel_id=ws.channels.get().pk),
        lambda m, ws: svc.channel_update(
            membership=m, channel_id=ws.channels.get().pk, platform="x", name="Mine now"
        ),
        lambda m, ws: svc.campaign_delete(membership=m, campaign_id=ws.campaigns.get().pk),
        lambda m, ws: svc.label_delete(
            membership=m, label_id=LabelFactory(workspace=ws, name="theirs").pk
        ),
        lambda m, ws: svc.member_remove(membership=m, member_id=ws.memberships.get().pk),
        lambda m, ws: svc.member_set_role(
            membership=m, member_id=ws.memberships.get().pk, role=VIEWER
        ),
    ],
    ids=["pause", "channel_update", "campaign", "label", "member_remove", "member_role"],
)
def test_given_another_workspaces_object_when_an_owner_acts_on_it_then_it_does_not_exist(
    owner, other_workspace, call
):
    with pytest.raises(
        (Channel.DoesNotExist, Campaign.DoesNotExist, Label.DoesNotExist, Membership.DoesNotExist)
    ):
        call(owner, other_workspace)
    assert other_workspace.channels.get().state == ChannelState.CONNECTED
    assert other_workspace.memberships.get().role == OWNER


# --- members ------------------------------------------------------------------------------------


def test_given_a_member_when_the_role_changes_then_it_is_saved(owner, editor):
    svc.member_set_role(membership=owner, member_id=editor.pk, role=MANAGER)
    assert Membership.objects.get(pk=editor.pk).role == MANAGER


def test_given_the_last_owner_when_demoting_themselves_then_refused(owner):
    with pytest.raises(ValidationError) as exc:
        svc.member_set_role(membership=owner, member_id=owner.pk, role=MANAGER)
    assert messages_of(exc.value) == [
        "owner is the last owner of this workspace. Make someone else an owner first."
    ]
    assert Membership.objects.get(pk=owner.pk).role == OWNER


def test_given_the_last_owner_when_removing_them_then_refused(owner):
    with pytest.raises(ValidationError):
        svc.member_remove(membership=owner, member_id=owner.pk)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_given_two_owners_when_one_steps_down_then_allowed_and_the_other_stays_owner(
    owner, workspace
):
    second = MembershipFactory(workspace=workspace, role=OWNER)
    svc.member_set_role(membership=owner, member_id=owner.pk, role=EDITOR)
    assert owner.role == EDITOR  # the caller's membership follows its own change
    with pytest.raises(ValidationError):
        svc.member_remove(membership=second, member_id=second.pk)
    assert Membership.objects.get(pk=second.pk).role == OWNER


def test_given_a_member_when_removed_then_the_membership_is_gone_but_the_user_stays(owner, viewer):
    svc.member_remove(membership=owner, member_id=viewer.pk)
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert type(viewer.user).objects.filter(pk=viewer.user_id).exists()


def test_given_a_channel_in_use_when_a_manager_pauses_it_then_its_posts_keep_the_variant(
    manager, channel, workspace
):
    post = PostFactory(workspace=workspace, channels=[channel])
    svc.channel_pause(membership=manager, channel_id=channel.pk)
    assert list(post.channels.all()) == [channel]


def test_given_a_duplicate_label_in_another_workspace_then_allowed(editor, other_workspace):
    LabelFactory(workspace=other_workspace, name="shared")
    svc.label_create(membership=editor, name="shared")
    assert Label.objects.filter(name="shared").count() == 2


def test_given_channels_in_other_workspace_then_the_same_account_id_is_allowed(
    manager, other_workspace
):
    theirs = ChannelFactory(workspace=other_workspace, platform="x", account_id="same")
    svc.channel_create(membership=manager, platform="x", name="Ours", account_id="same")
    assert Channel.objects.filter(account_id=theirs.account_id).count() == 2


def test_given_a_channel_needing_reconnect_when_paused_and_resumed_then_it_still_needs_it(
    manager, channel
):
    Channel.objects.filter(pk=channel.pk).update(state=ChannelState.NEEDS_RECONNECT)
    svc.channel_pause(membership=manager, channel_id=channel.pk)
    svc.channel_resume(membership=manager, channel_id=channel.pk)
    assert Channel.objects.get(pk=channel.pk).state == ChannelState.NEEDS_RECONNECT


def test_given_a_paused_channel_whose_token_dies_then_it_stays_paused_and_needs_reconnect_after(
    manager, channel
):
    from publishing.accounts import channel_mark_needs_reconnect

    svc.channel_pause(membership=manager, channel_id=channel.pk)
    channel_mark_needs_reconnect(channel_id=channel.pk, reason="revoked")
    assert Channel.objects.get(pk=channel.pk).state == ChannelState.PAUSED
    svc.channel_resume(membership=manager, channel_id=channel.pk)
    assert Channel.objects.get(pk=channel.pk).state == ChannelState.NEEDS_RECONNECT


def test_given_a_channel_that_is_not_paused_when_resumed_then_nothing_changes(manager, channel):
    Channel.objects.filter(pk=channel.pk).update(state=ChannelState.NEEDS_RECONNECT)
    svc.channel_resume(membership=manager, channel_id=channel.pk)
    assert Channel.objects.get(pk=channel.pk).state == ChannelState.NEEDS_RECONNECT


def test_given_a_paused_channel_twice_paused_then_resume_still_restores_the_first_state(
    manager, channel
):
    svc.channel_pause(membership=manager, channel_id=channel.pk)
    svc.channel_pause(membership=manager, channel_id=channel.pk)
    svc.channel_resume(membership=manager, channel_id=channel.pk)
    assert Channel.objects.get(pk=channel.pk).state == ChannelState.CONNECTED

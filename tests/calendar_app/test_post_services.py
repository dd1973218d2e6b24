"""The post services: who may write, what they refuse, and that a refusal writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from calendar_app.models import MediaAsset, Post, PostMedia, PostVariant, Role
from calendar_app.services.content import PostInput, VariantInput
from calendar_app.services.posts import (
    StaleEdit,
    post_create,
    post_delete,
    post_reschedule,
    post_update,
)
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    LabelFactory,
    PostFactory,
    PostVariantFactory,
)

NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
TOMORROW = NOW + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def make_media(workspace, *, kind="image", name="photo.jpg", size=1000) -> MediaAsset:
    return MediaAsset.objects.create(
        workspace=workspace,
        file=f"media/{workspace.pk}/{name}",
        kind=kind,
        mime_type="image/jpeg" if kind == "image" else "video/mp4",
        size_bytes=size,
        original_name=name,
    )


def scheduled_input(channel, **kwargs) -> PostInput:
    return PostInput(
        body="Hello Mastodon", scheduled_at=TOMORROW, variants={channel: VariantInput()}, **kwargs
    )


def content_counts() -> tuple[int, int, int]:
    return Post.objects.count(), PostVariant.objects.count(), PostMedia.objects.count()


# --- roles x actions --------------------------------------------------------------------------


def do_create(membership, post, channel):
    return post_create(membership=membership, data=scheduled_input(channel))


def do_update(membership, post, channel):
    return post_update(
        membership=membership,
        post_id=post.pk,
        data=scheduled_input(channel),
        expected_version=post.version,
    )


def do_reschedule(membership, post, channel):
    return post_reschedule(membership=membership, post_id=post.pk, day=dt.date(2026, 6, 5))


def do_delete(membership, post, channel):
    return post_delete(membership=membership, post_id=post.pk)


ACTIONS = {
    "create": do_create,
    "update": do_update,
    "reschedule": do_reschedule,
    "delete": do_delete,
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.MANAGER, True), (Role.EDITOR, True), (Role.VIEWER, False)],
)
def test_roles_and_post_actions(members, channel, workspace, role, allowed, action):
    post = PostFactory(workspace=workspace, scheduled_at=TOMORROW, channels=[channel])
    before = post_rows()

    if allowed:
        ACTIONS[action](members[role], post, channel)
        assert post_rows() != before  # created, new version, moved or deleted
    else:
        with pytest.raises(PermissionDenied):
            ACTIONS[action](members[role], post, channel)
        assert post_rows() == before


def post_rows() -> list[tuple]:
    return list(Post.objects.values_list("pk", "version", "scheduled_at").order_by("pk"))


def test_viewer_refusal_says_why(viewer, channel):
    with pytest.raises(PermissionDenied, match="Your role may not create posts"):
        post_create(membership=viewer, data=scheduled_input(channel))


# --- the same workspace -----------------------------------------------------------------------


def foreign_campaign(data, other, own_channel):
    data.campaign = CampaignFactory(workspace=other)


def foreign_label(data, other, own_channel):
    data.labels = [LabelFactory(workspace=other)]


def foreign_channel(data, other, own_channel):
    data.variants[ChannelFactory(workspace=other)] = VariantInput()


def foreign_media(data, other, own_channel):
    data.media = [make_media(other)]


def foreign_media_override(data, other, own_channel):
    data.variants[own_channel].media_override = [make_media(other)]


@pytest.mark.parametrize(
    "make_foreign",
    [foreign_campaign, foreign_label, foreign_channel, foreign_media, foreign_media_override],
)
@pytest.mark.parametrize("scheduled", [True, False], ids=["scheduled", "idea"])
def test_given_something_of_another_workspace_then_create_is_refused_and_nothing_written(
    editor, channel, other_workspace, make_foreign, scheduled
):
    data = scheduled_input(channel)
    if not scheduled:
        data.scheduled_at = None
    make_foreign(data, other_workspace, channel)

    with pytest.raises(ValidationError, match="must belong to this workspace"):
        post_create(membership=editor, data=data)

    assert content_counts() == (0, 0, 0)


def test_given_something_of_another_workspace_then_update_is_refused_and_post_unchanged(
    editor, channel, workspace, other_workspace
):
    post = PostFactory(workspace=workspace, body="Before", scheduled_at=TOMORROW)
    data = scheduled_input(channel, labels=[LabelFactory(workspace=other_workspace)])

    with pytest.raises(ValidationError):
        post_update(membership=editor, post_id=post.pk, data=data, expected_version=post.version)

    post.refresh_from_db()
    assert (post.body, post.version, post.labels.count(), post.variants.count()) == (
        "Before",
        1,
        0,
        0,
    )


def test_given_a_post_of_another_workspace_then_update_says_it_does_not_exist(
    editor, channel, other_workspace
):
    foreign = PostFactory(workspace=other_workspace, body="Theirs")

    with pytest.raises(ValidationError, match="does not exist"):
        post_update(
            membership=editor, post_id=foreign.pk, data=scheduled_input(channel), expected_version=1
        )

    foreign.refresh_from_db()
    assert foreign.body == "Theirs"


# --- optimistic lock, time, publishability ----------------------------------------------------


def test_given_an_older_version_then_update_is_refused_as_stale_and_nothing_written(
    editor, channel, workspace
):
    post = PostFactory(workspace=workspace, body="Theirs", scheduled_at=TOMORROW)
    post_update(
        membership=editor, post_id=post.pk, data=scheduled_input(channel), expected_version=1
    )
    mine = scheduled_input(channel)
    mine.body = "Mine"

    with pytest.raises(StaleEdit, match="Someone else changed this post"):
        post_update(membership=editor, post_id=post.pk, data=mine, expected_version=1)

    post.refresh_from_db()
    assert (post.body, post.version) == ("Hello Mastodon", 2)


def test_given_a_time_in_the_past_then_scheduling_is_refused(editor, channel):
    data = scheduled_input(channel)
    data.scheduled_at = NOW - dt.timedelta(minutes=1)

    with pytest.raises(ValidationError, match="cannot be scheduled in the past"):
        post_create(membership=editor, data=data)

    assert content_counts() == (0, 0, 0)


def test_given_a_past_day_then_reschedule_is_refused(editor, channel, workspace):
    post = PostFactory(workspace=workspace, scheduled_at=TOMORROW, channels=[channel])

    with pytest.raises(ValidationError, match="in the past"):
        post_reschedule(membership=editor, post_id=post.pk, day=dt.date(2026, 5, 1))

    post.refresh_from_db()
    assert post.scheduled_at == TOMORROW


def test_given_no_channel_then_a_scheduled_post_is_refused(editor):
    data = PostInput(body="Hello", scheduled_at=TOMORROW)

    with pytest.raises(ValidationError, match="Choose at least one channel"):
        post_create(membership=editor, data=data)

    assert content_counts() == (0, 0, 0)


@pytest.fixture
def x_channel(workspace):
    return ChannelFactory(workspace=workspace, platform="x", name="Acme X")


def test_given_an_unpublishable_variant_then_scheduling_is_refused_with_the_platform_reason(
    editor, x_channel, channel
):
    data = PostInput(
        body="a" * 281,
        scheduled_at=TOMORROW,
        variants={x_channel: VariantInput(), channel: VariantInput()},
    )

    with pytest.raises(ValidationError) as exc:
        post_create(membership=editor, data=data)

    assert exc.value.messages == [
        "Acme X: The text is 281 characters long; X allows 280 (1 too many)."
    ]
    assert content_counts() == (0, 0, 0)


def test_given_the_same_unpublishable_content_as_an_idea_then_it_is_saved(editor, x_channel):
    data = PostInput(body="a" * 281, variants={x_channel: VariantInput()})

    post = post_create(membership=editor, data=data)

    assert post.is_idea
    assert list(post.variants.values_list("channel_id", flat=True)) == [x_channel.pk]


def test_given_an_idea_with_a_bad_variant_then_dropping_it_on_a_day_is_refused(
    editor, x_channel, workspace
):
    idea = post_create(
        membership=editor, data=PostInput(body="a" * 300, variants={x_channel: VariantInput()})
    )

    with pytest.raises(ValidationError, match="X allows 280"):
        post_reschedule(membership=editor, post_id=idea.pk, day=dt.date(2026, 6, 3))

    idea.refresh_from_db()
    assert idea.is_idea


def test_given_an_override_that_fits_then_a_long_master_text_still_schedules(
    editor, x_channel, channel
):
    data = PostInput(
        body="a" * 400,
        scheduled_at=TOMORROW,
        variants={x_channel: VariantInput(body_override="Short for X"), channel: VariantInput()},
    )

    post = post_create(membership=editor, data=data)

    assert post.variants.get(channel=x_channel).body_override == "Short for X"


def test_given_a_post_then_create_writes_labels_media_order_and_variants(
    editor, channel, campaign, label, workspace
):
    first, second = make_media(workspace, name="1.jpg"), make_media(workspace, name="2.jpg")
    data = scheduled_input(channel, campaign=campaign, labels=[label], media=[second, first])
    data.variants[channel] = VariantInput(
        first_comment="More in the thread", media_override=[first]
    )

    post = post_create(membership=editor, data=data)

    assert post.author == editor.user
    assert post.campaign == campaign
    assert list(post.labels.all()) == [label]
    assert [pm.media for pm in post.post_media.all()] == [second, first]
    variant = post.variants.get()
    assert variant.first_comment == "More in the thread"
    assert list(variant.media_override.all()) == [first]


def test_given_fewer_channels_then_update_removes_the_dropped_variants(
    editor, channel, x_channel, workspace
):
    post = PostFactory(workspace=workspace, scheduled_at=TOMORROW, channels=[channel, x_channel])

    post_update(
        membership=editor, post_id=post.pk, data=scheduled_input(channel), expected_version=1
    )

    assert list(post.variants.values_list("channel_id", flat=True)) == [channel.pk]


# --- variant fallbacks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body_override", "title_override", "expected_body", "expected_title"),
    [
        ("", "", "Master text", "Master title"),
        ("Own text", "", "Own text", "Master title"),
        ("", "Own title", "Master text", "Own title"),
        ("Own text", "Own title", "Own text", "Own title"),
    ],
)
def test_variant_falls_back_to_the_master_text_and_title(
    workspace, body_override, title_override, expected_body, expected_title
):
    post = PostFactory(workspace=workspace, body="Master text", title="Master title")
    variant = PostVariantFactory(
        post=post, body_override=body_override, title_override=title_override
    )

    assert (variant.effective_body, variant.effective_title) == (expected_body, expected_title)


def test_given_a_deleted_post_then_its_variants_and_media_links_are_gone(
    editor, channel, workspace
):
    media = make_media(workspace)
    post = post_create(membership=editor, data=scheduled_input(channel, media=[media]))

    post_delete(membership=editor, post_id=post.pk)

    assert content_counts() == (0, 0, 0)
    assert MediaAsset.objects.filter(pk=media.pk).exists()  # the library keeps the file

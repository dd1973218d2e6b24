"""Instagram and Threads fetch media from a public address: without one configured the editor
refuses to schedule such a post (instead of it failing at publish time)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from calendar_app.models import MediaAsset
from calendar_app.services.content import PostInput, VariantInput, post_input_problems
from calendar_app.services.posts import post_create
from tests.factories import ChannelFactory

MESSAGE = "Instagram fetches images and videos from a public web address"


@pytest.fixture
def image(workspace):
    return MediaAsset.objects.create(
        workspace=workspace,
        file="media/x.jpg",
        kind="image",
        mime_type="image/jpeg",
        size_bytes=1000,
        original_name="x.jpg",
    )


def _input(channel, image, *, scheduled=True):
    return PostInput(
        body="Neue Ernte",
        media=[image],
        scheduled_at=timezone.now() + dt.timedelta(days=1) if scheduled else None,
        variants={channel: VariantInput()},
    )


def test_without_a_public_media_url_an_instagram_post_with_media_cannot_be_scheduled(
    settings, editor, image
):
    settings.PUBLIC_MEDIA_BASE_URL = ""
    instagram = ChannelFactory(workspace=editor.workspace, platform="instagram")

    with pytest.raises(ValidationError) as refused:
        post_create(membership=editor, data=_input(instagram, image))

    assert MESSAGE in str(refused.value)
    assert not editor.workspace.posts.exists()


def test_without_a_public_media_url_the_same_post_can_still_be_kept_as_an_idea(
    settings, editor, image
):
    settings.PUBLIC_MEDIA_BASE_URL = ""
    instagram = ChannelFactory(workspace=editor.workspace, platform="instagram")

    post_create(membership=editor, data=_input(instagram, image, scheduled=False))

    problems = post_input_problems(_input(instagram, image, scheduled=False))
    assert any(MESSAGE in p for p in problems[instagram])


def test_with_a_public_media_url_the_instagram_post_is_scheduled(settings, editor, image):
    settings.PUBLIC_MEDIA_BASE_URL = "https://media.example.com/media/"
    instagram = ChannelFactory(workspace=editor.workspace, platform="instagram")

    post = post_create(membership=editor, data=_input(instagram, image))

    assert post.scheduled_at is not None


@pytest.mark.parametrize("platform", ["pinterest", "mastodon", "x"])
def test_platforms_that_receive_uploads_do_not_need_it(settings, editor, image, platform):
    settings.PUBLIC_MEDIA_BASE_URL = ""
    channel = ChannelFactory(workspace=editor.workspace, platform=platform)
    data = _input(channel, image)
    data.title = "Pin"

    assert post_input_problems(data) == {}

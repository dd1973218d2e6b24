"""Shared pieces of the publishing engine tests: a workspace that publishes without approval,
channels with stored credentials, due posts, and running the dispatcher's tasks in-process."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from calendar_app.models import ApprovalMode, ApprovalPolicy, Channel, Post
from calendar_app.workflow import PostStatus
from publishing.adapters.base import Credentials
from publishing.credentials import credentials_save
from tests.factories import ChannelFactory, PostFactory

RECORDING = {"BACKEND": "publishing.adapters.recording.RecordingAdapter"}


def no_approval(workspace) -> None:
    ApprovalPolicy.objects.update_or_create(
        workspace=workspace, defaults={"mode": ApprovalMode.NONE}
    )


def connected_channel(workspace, *, platform: str = "mastodon", **kwargs) -> Channel:
    channel = ChannelFactory(workspace=workspace, platform=platform, **kwargs)
    credentials_save(channel=channel, credentials=Credentials(access_token="token-1"))
    return channel


def due_post(workspace, channels, *, at: dt.datetime | None = None, **kwargs) -> Post:
    """A scheduled post (status written directly: the workflow is not what is tested here)."""
    return PostFactory(
        workspace=workspace,
        channels=channels,
        status=PostStatus.SCHEDULED,
        scheduled_at=at or timezone.now(),
        **kwargs,
    )

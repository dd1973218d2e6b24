"""Shared fixtures: a populated workspace with one member per role, and a second workspace."""

from __future__ import annotations

import pytest

from calendar_app.models import Role
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    LabelFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
)


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme", slug="acme", timezone="Europe/Berlin")


@pytest.fixture
def members(workspace):
    """One membership per role in `workspace`, keyed by role."""
    return {
        role: MembershipFactory(
            workspace=workspace, user=UserFactory(username=role.value), role=role
        )
        for role in Role
    }


@pytest.fixture
def editor(members):
    return members[Role.EDITOR]


@pytest.fixture
def manager(members):
    return members[Role.MANAGER]


@pytest.fixture
def viewer(members):
    return members[Role.VIEWER]


@pytest.fixture
def owner(members):
    return members[Role.OWNER]


@pytest.fixture
def channel(workspace):
    return ChannelFactory(workspace=workspace, platform="mastodon", name="Acme Mastodon")


@pytest.fixture
def campaign(workspace):
    return CampaignFactory(workspace=workspace, name="Spring launch")


@pytest.fixture
def label(workspace):
    return LabelFactory(workspace=workspace, name="evergreen")


@pytest.fixture
def other_workspace(db):
    """A second workspace with its own member, channel and campaign: never visible to `members`."""
    ws = WorkspaceFactory(name="Other brand", slug="other")
    MembershipFactory(workspace=ws, user=UserFactory(username="stranger"), role=Role.OWNER)
    ChannelFactory(workspace=ws, name="Other channel")
    CampaignFactory(workspace=ws, name="Other campaign")
    return ws


def login(client, membership):
    client.force_login(membership.user)
    return client

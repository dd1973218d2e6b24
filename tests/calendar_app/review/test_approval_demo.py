"""The issue's "done" check on the demo data: the demo workspace requires approval by a team
lead, and an editor cannot get a post published without it, whatever they click or POST."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from calendar_app.models import ApprovalPolicy, Membership, Post, ReviewLink, Workspace
from calendar_app.services.review import post_cleared_for_publishing
from calendar_app.workflow import PostStatus

S = PostStatus


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO())
    return Workspace.objects.get(slug="nordlicht")


def publishable(workspace) -> set[int]:
    return {
        p.pk for p in Post.objects.filter(workspace=workspace) if post_cleared_for_publishing(p)
    }


def test_the_demo_requires_a_team_lead_and_has_posts_in_review_and_approved(demo):
    policy = ApprovalPolicy.objects.get(workspace=demo)
    assert policy.mode == "required"
    assert [(s.name, s.approver_roles) for s in policy.steps.all()] == [("Team lead", ["manager"])]
    statuses = set(Post.objects.filter(workspace=demo).values_list("status", flat=True))
    assert {S.DRAFT, S.IN_REVIEW, S.SCHEDULED} <= statuses
    scheduled = Post.objects.filter(workspace=demo, status=S.SCHEDULED)
    assert publishable(demo) == {p.pk for p in scheduled}


def test_a_second_seed_run_changes_no_workflow_state(demo):
    before = dict(Post.objects.filter(workspace=demo).values_list("pk", "status"))
    call_command("seed_demo", stdout=io.StringIO())
    assert dict(Post.objects.filter(workspace=demo).values_list("pk", "status")) == before


def test_an_editor_cannot_get_a_post_published_whatever_they_post(client, demo):
    editor = Membership.objects.get(workspace=demo, user__username="editor")
    client.force_login(editor.user)
    before = publishable(demo)
    slug = demo.slug
    posts = list(Post.objects.filter(workspace=demo).exclude(pk__in=before))

    def post(name, *args, **data):
        return client.post(reverse(f"calendar:{name}", args=[slug, *args]), data)

    post("approval_policy", mode="none", **{"steps-TOTAL_FORMS": 0, "steps-INITIAL_FORMS": 0})
    post("review_bulk", post=[p.pk for p in posts])
    for p in posts:
        post("post_workflow", p.pk, action="schedule")
        post("post_workflow", p.pk, action="submit")
        for decision in ("approve", "skip", "approve_reschedule"):
            post("review_decide", p.pk, decision=decision, date="2099-01-01", time="10:00")
        post("review_link_create", p.pk)
        post("post_workflow", p.pk, action="schedule")

    assert ApprovalPolicy.objects.get(workspace=demo).mode == "required"
    assert not ReviewLink.objects.exists()
    assert publishable(demo) == before
    # Nothing the editor submitted went further than "in review".
    assert not Post.objects.filter(pk__in=[p.pk for p in posts], status=S.SCHEDULED).exists()

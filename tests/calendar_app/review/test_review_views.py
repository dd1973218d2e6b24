"""Review pages: the queue (roles, decisions, bulk, query budget), the editor's workflow panel,
comments with mentions, history with diffs, external review links, the approvals settings page,
and 404 for everything of another workspace."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import (
    ApprovalPolicy,
    AuditEvent,
    MediaAsset,
    Post,
    PostComment,
    ReviewDecision,
    ReviewLink,
    Role,
)
from calendar_app.services import review
from calendar_app.services.content import post_input_from
from calendar_app.services.posts import post_update
from calendar_app.services.workspaces import StepInput
from calendar_app.workflow import PostStatus
from notifications.models import Notification
from tests.calendar_app.review.test_approval_services import NOW, new_post, refresh, set_policy
from tests.conftest import login
from tests.factories import ChannelFactory, MembershipFactory, PostFactory, UserFactory

S = PostStatus


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def in_review(editor, channel, **kwargs) -> Post:
    post = new_post(editor, channel, **kwargs)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    return refresh(post)


def url(name: str, *args) -> str:
    return reverse(f"calendar:{name}", args=["acme", *args])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --- the queue ----------------------------------------------------------------------------------


def test_given_posts_in_review_then_the_manager_sees_them_and_the_author_does_not(
    client, editor, manager, channel
):
    post = in_review(editor, channel)
    response = login(client, manager).get(url("review_queue"))
    assert response.status_code == 200
    assert f'data-testid="queue-item" data-post-id="{post.pk}"' in response.content.decode()
    assert "Step 1/1: Approval" in response.content.decode()

    client.logout()
    response = login(client, editor).get(url("review_queue"))
    assert 'data-testid="queue-item"' not in response.content.decode()
    assert 'data-testid="queue-empty"' in response.content.decode()


@pytest.mark.parametrize("role, count", [(Role.MANAGER, 2), (Role.EDITOR, 0), (Role.VIEWER, 0)])
def test_the_navbar_count_is_the_number_waiting_for_me(client, members, channel, role, count):
    editor = members[Role.EDITOR]
    in_review(editor, channel)
    in_review(editor, channel)
    response = login(client, members[role]).get(url("review_count"))
    assert response.status_code == 200
    found = re.search(r'data-testid="review-count"[^>]*>(\d+)<', response.content.decode())
    assert (int(found.group(1)) if found else 0) == count


@pytest.mark.parametrize("n", [1, 8])
def test_the_queue_page_costs_a_fixed_number_of_queries(
    client, editor, manager, channel, workspace, django_assert_num_queries, n
):
    extra = ChannelFactory(workspace=workspace, platform="bluesky")
    photo = MediaAsset.objects.create(
        workspace=workspace,
        file="media/x/photo.jpg",
        kind="image",
        mime_type="image/jpeg",
        size_bytes=1000,
        original_name="photo.jpg",
    )
    for _ in range(n):
        post = new_post(editor, channel)
        data = post_input_from(post)
        data.media = [photo]
        data.variants[extra] = type(data.variants[channel])()
        post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
        review.post_submit_for_review(membership=editor, post_id=post.pk)
    login(client, manager)
    # session, user, membership, my workspaces, notifications unread count; the rulebook's
    # facts: policy, rounds, revision numbers, approvals so far, publications; variants, media
    with django_assert_num_queries(12):
        response = client.get(url("review_queue"))
    assert response.content.decode().count('data-testid="queue-item"') == n


def test_given_a_post_on_a_channel_that_cannot_publish_then_the_queue_says_it_would_be_held(
    client, editor, manager, channel
):
    """Issue 12: the queue showed the workflow state only; an approver approved posts that
    would then sit held on a paused or disconnected channel."""
    post = in_review(editor, channel)
    type(channel).objects.filter(pk=channel.pk).update(state="paused")

    html = login(client, manager).get(url("review_queue")).content.decode()

    item = html.split(f'data-post-id="{post.pk}"')[1]
    assert 'data-testid="queue-held"' in item
    assert f"{channel.name} is paused" in item
    assert reverse("calendar:channel_edit", args=["acme", channel.pk]) in item


def test_given_healthy_channels_then_the_queue_shows_no_channel_problem(
    client, editor, manager, channel
):
    in_review(editor, channel)

    html = login(client, manager).get(url("review_queue")).content.decode()

    assert 'data-testid="queue-channel-problem"' not in html


def test_approving_from_the_queue_schedules_the_post(client, editor, manager, channel):
    post = in_review(editor, channel)
    response = login(client, manager).post(
        url("review_decide", post.pk),
        {"decision": "approve", "expected_step": 0, "expected_revision": 1, "body": post.body},
    )
    assert response.status_code == 302
    assert refresh(post).status == S.SCHEDULED
    assert any("You approved" in m for m in messages_of(response))


def test_an_approver_edit_in_the_queue_is_saved_and_waits_for_another_approver(
    client, editor, manager, owner, channel
):
    post = in_review(editor, channel)
    response = login(client, manager).post(
        url("review_decide", post.pk),
        {"decision": "approve", "expected_step": 0, "expected_revision": 1, "body": "Edited"},
    )
    post = refresh(post)
    assert (post.body, post.status) == ("Edited", S.IN_REVIEW)
    assert any("another approver" in m for m in messages_of(response))
    assert not ReviewDecision.objects.filter(round__post=post).exists()
    # the manager's queue no longer offers to approve their own change; the owner's does
    assert 'data-testid="approve"' not in client.get(url("review_queue")).content.decode()
    queue = login(client, owner).get(url("review_queue")).content.decode()
    assert 'data-testid="approve"' in queue


def test_request_changes_without_a_comment_is_refused_and_changes_nothing(
    client, editor, manager, channel
):
    post = in_review(editor, channel)
    response = login(client, manager).post(
        url("review_decide", post.pk), {"decision": "request_changes", "comment": ""}
    )
    assert response.status_code == 302
    assert refresh(post).status == S.IN_REVIEW
    assert any("comment is required" in m for m in messages_of(response))


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_members_who_are_not_approvers_cannot_approve_by_post(client, members, channel, role):
    post = in_review(members[Role.EDITOR], channel)
    response = login(client, members[role]).post(
        url("review_decide", post.pk), {"decision": "approve"}
    )
    assert response.status_code == 302
    assert refresh(post).status == S.IN_REVIEW
    assert not ReviewDecision.objects.exists()


def test_bulk_approve_approves_the_selected_posts_and_reports_refusals(
    client, editor, manager, channel
):
    posts = [in_review(editor, channel) for _ in range(3)]
    own = in_review(manager, channel)  # a manager cannot approve their own post
    data = {"post": [p.pk for p in [*posts, own]]}
    for p in [*posts, own]:
        data[f"step_{p.pk}"] = 0
        data[f"revision_{p.pk}"] = 1
    response = login(client, manager).post(url("review_bulk"), data)
    assert response.status_code == 302
    assert [refresh(p).status for p in posts] == [S.SCHEDULED] * 3
    assert refresh(own).status == S.IN_REVIEW
    texts = messages_of(response)
    assert "You approved 3 posts." in texts
    assert any("your own post" in t for t in texts)


def test_a_missed_post_is_approved_with_a_new_time_from_the_queue(
    client, editor, manager, channel, workspace
):
    post = in_review(editor, channel)
    review.approvals_mark_missed(now=post.scheduled_at)
    with time_machine.travel(post.scheduled_at + dt.timedelta(hours=1), tick=False):
        response = login(client, manager).get(url("review_queue"))
        assert 'data-testid="approve-reschedule"' in response.content.decode()
        new_day = (post.scheduled_at + dt.timedelta(days=1)).astimezone(workspace.tz).date()
        client.post(
            url("review_decide", post.pk),
            {"decision": "approve_reschedule", "date": new_day.isoformat(), "time": "10:00"},
        )
    post = refresh(post)
    assert post.status == S.SCHEDULED
    assert post.scheduled_at.astimezone(workspace.tz).date() == new_day


# --- the editor's panel and buttons ----------------------------------------------------------


def test_the_author_submits_and_withdraws_from_the_editor(client, editor, channel):
    post = new_post(editor, channel)
    login(client, editor)
    bar = client.get(url("post_review_panel", post.pk) + "?part=bar").content.decode()
    assert 'data-testid="submit-review"' in bar and 'form="post-form"' in bar
    client.post(url("post_workflow", post.pk), {"action": "submit", "version": post.version})
    assert refresh(post).status == S.IN_REVIEW
    bar = client.get(url("post_review_panel", post.pk) + "?part=bar").content.decode()
    assert 'data-testid="withdraw"' in bar
    assert "Step 1 of 1: Approval" in bar
    client.post(url("post_workflow", post.pk), {"action": "withdraw"})
    assert refresh(post).status == S.DRAFT


def test_save_and_submit_saves_the_form_then_submits(client, editor, channel, workspace):
    post = new_post(editor, channel)
    local = post.scheduled_at.astimezone(workspace.tz)
    response = login(client, editor).post(
        url("post_edit", post.pk),
        {
            "version": post.version,
            "title": post.title,
            "body": "Last-minute words",
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "channels": [channel.pk],
            "save_submit": "1",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("post_edit", post.pk)
    post = refresh(post)
    assert (post.body, post.status) == ("Last-minute words", S.IN_REVIEW)
    assert review.latest_revision(post).snapshot["body"] == "Last-minute words"


def test_a_stale_submit_is_refused(client, editor, channel):
    post = new_post(editor, channel)
    response = login(client, editor).post(
        url("post_workflow", post.pk), {"action": "submit", "version": post.version - 1}
    )
    assert refresh(post).status == S.DRAFT
    assert any("changed this post" in m for m in messages_of(response))


def test_editing_a_scheduled_post_in_the_editor_tells_why_it_went_back_to_review(
    client, editor, manager, channel, workspace
):
    post = in_review(editor, channel)
    review.post_approve(membership=manager, post_id=post.pk)
    post = refresh(post)
    local = post.scheduled_at.astimezone(workspace.tz)
    response = login(client, editor).post(
        url("post_edit", post.pk),
        {
            "version": post.version,
            "title": post.title,
            "body": "New words",
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "channels": [channel.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert refresh(post).status == S.IN_REVIEW
    assert any(
        "went back to review because its content changed" in m for m in messages_of(response)
    )


# --- comments -------------------------------------------------------------------------------


def test_a_comment_with_a_mention_notifies_the_member(client, editor, manager, channel):
    post = new_post(editor, channel)
    login(client, editor).post(
        url("post_comment", post.pk),
        {"body": "@manager can you check the link?", "channel": channel.pk, "visibility": "shared"},
    )
    comment = PostComment.objects.get(post=post)
    assert (comment.author, comment.variant_channel, comment.internal) == (
        editor.user,
        channel,
        False,
    )
    assert list(
        Notification.objects.filter(recipient=manager.user).values_list("kind", flat=True)
    ) == ["mentioned"]
    thread = client.get(url("post_review_panel", post.pk) + "?part=thread").content.decode()
    assert "can you check the link?" in thread


def test_a_viewer_cannot_comment(client, viewer, editor, channel):
    post = new_post(editor, channel)
    login(client, viewer).post(url("post_comment", post.pk), {"body": "hi"})
    assert not PostComment.objects.exists()


# --- history ----------------------------------------------------------------------------------


def test_history_shows_the_diff_and_which_revision_was_approved(client, editor, manager, channel):
    post = new_post(editor, channel, body="Hello <b>world</b>")
    data = post_input_from(post)
    data.body = "Hello <b>team</b>"
    post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk)
    response = login(client, editor).get(url("post_history", post.pk) + "?a=1&b=2")
    text = response.content.decode()
    assert response.status_code == 200
    assert "<del>&lt;b&gt;world&lt;/b&gt;</del>" in text
    assert "<ins>&lt;b&gt;team&lt;/b&gt;</ins>" in text
    assert "<b>team</b>" not in text
    assert text.count('data-testid="audit-event"') == AuditEvent.objects.filter(post=post).count()
    revisions = re.findall(r'data-testid="revision">(.*?)</li>', text, re.S)
    assert "Approved" in revisions[0] and "Approved" not in revisions[1]  # newest first
    actions = re.findall(r'data-testid="audit-action">(.*?)</span>', text)
    assert actions[:2] == ["Submit for review", "Approve"]


def test_history_names_each_action_in_the_users_language(client, editor, manager, channel):
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk)
    editor.user.language = "de"
    editor.user.save(update_fields=["language"])
    text = login(client, editor).get(url("post_history", post.pk)).content.decode()
    actions = re.findall(r'data-testid="audit-action">(.*?)</span>', text)
    assert actions[:3] == ["Zur Freigabe einreichen", "Freigeben", "Nach der Freigabe geplant"]


# --- cross-workspace --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, method, data",
    [
        ("review_decide", "post", {"decision": "approve"}),
        ("post_workflow", "post", {"action": "submit"}),
        ("post_review_panel", "get", {}),
        ("post_comment", "post", {"body": "hi"}),
        ("post_history", "get", {}),
        ("review_link_create", "post", {}),
    ],
)
def test_a_post_of_another_workspace_answers_404(
    client, owner, other_workspace, name, method, data
):
    foreign = PostFactory(workspace=other_workspace)
    login(client, owner)
    response = getattr(client, method)(url(name, foreign.pk), data)
    assert response.status_code == 404
    assert refresh(foreign).status == S.DRAFT
    assert not PostComment.objects.exists()


def test_another_workspaces_queue_answers_404(client, owner, other_workspace):
    response = login(client, owner).get(reverse("calendar:review_queue", args=["other"]))
    assert response.status_code == 404


# --- external review links ----------------------------------------------------------------------


@pytest.fixture
def client_step(owner):
    """Team lead first, then the client through a review link."""
    return set_policy(
        owner,
        steps=[
            StepInput(name="Team lead", roles=["manager"], members=[]),
            StepInput(name="Client", roles=[], members=[], external=True),
        ],
    )


RECIPIENT = {"recipient_name": "Clara Client", "recipient_email": "clara@client.example"}


def _link_for(client, member, post, recipient=RECIPIENT) -> str:
    login(client, member).post(url("review_link_create", post.pk), recipient)
    thread = client.get(url("post_review_panel", post.pk) + "?part=thread").content.decode()
    link = re.search(r'data-testid="new-review-link"|value="(http[^"]+/review/[^"]+)"', thread)
    found = re.search(r'value="(http://testserver(/review/[^"]+))"', thread)
    assert link and found, thread
    client.logout()
    return found.group(2)


def _opened(client, path: str) -> str:
    """The reviewer opens the link: the token becomes a cookie; the path of the link's page."""
    response = client.get(path)
    assert response.status_code == 303
    return response["Location"]


def test_an_external_reviewer_approves_with_their_name(
    client, client_step, editor, manager, channel
):
    post = in_review(editor, channel)
    review.post_approve(membership=manager, post_id=post.pk)
    PostComment.objects.create(post=post, author=editor.user, body="SECRET internal", internal=True)
    PostComment.objects.create(post=post, author=editor.user, body="Shared hello", internal=False)
    path = _opened(client, _link_for(client, manager, post))

    page = client.get(path)
    text = page.content.decode()
    assert page.status_code == 200
    assert "Shared hello" in text and "SECRET internal" not in text
    assert 'data-testid="external-approve"' in text

    client.post(path, {"post": post.pk, "name": "Someone Else", "decision": "approve"})
    post = refresh(post)
    assert post.status == S.SCHEDULED  # under the name the link was issued to
    decision = ReviewDecision.objects.get(round__post=post, step=1)
    assert (decision.user, decision.external_name) == (None, "Clara Client")
    assert AuditEvent.objects.filter(post=post, actor_name="Clara Client").exists()


def test_an_external_reviewer_cannot_decide_the_teams_step(
    client, client_step, editor, channel, manager
):
    post = in_review(editor, channel)
    path = _opened(client, _link_for(client, manager, post))
    response = client.post(path, {"post": post.pk, "name": "Clara", "decision": "approve"})
    assert response.status_code == 400
    assert refresh(post).status == S.IN_REVIEW
    assert not ReviewDecision.objects.exists()


def test_an_external_comment_is_shared_and_named(client, editor, channel, manager):
    post = new_post(editor, channel)
    path = _opened(client, _link_for(client, manager, post))
    client.post(
        path, {"post": post.pk, "name": "Clara", "comment": "Love it", "decision": "comment"}
    )
    comment = PostComment.objects.get(post=post)
    assert (comment.author, comment.external_name, comment.internal) == (
        None,
        "Clara Client",
        False,
    )


def test_a_link_for_one_post_cannot_touch_another(client, client_step, editor, manager, channel):
    post = in_review(editor, channel)
    other = in_review(editor, channel)
    review.post_approve(membership=manager, post_id=other.pk)
    path = _opened(client, _link_for(client, manager, post))
    response = client.post(path, {"post": other.pk, "name": "Clara", "decision": "approve"})
    assert response.status_code == 400
    assert refresh(other).status == S.IN_REVIEW


def test_a_tampered_link_is_refused_with_403(client, editor, channel, manager):
    review.review_link_attempts_reset("127.0.0.1")  # three bad tokens below: far from the limit
    post = new_post(editor, channel)
    path = _link_for(client, manager, post)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA/") else "BBB") + "/"
    assert client.get(tampered).status_code == 403
    link = ReviewLink.objects.get()
    forged = signing.TimestampSigner(salt="other").sign(f"{link.pk}.guess")
    assert client.get(f"/review/{forged}/").status_code == 403
    right_signature_wrong_secret = signing.TimestampSigner(salt=review.REVIEW_LINK_SALT).sign(
        f"{link.pk}.guess"
    )
    assert client.get(f"/review/{right_signature_wrong_secret}/").status_code == 403


def test_an_expired_link_answers_410_and_changes_nothing(
    client, client_step, editor, manager, channel
):
    post = in_review(editor, channel)
    review.post_approve(membership=manager, post_id=post.pk)
    path = _link_for(client, manager, post)
    with time_machine.travel(NOW + dt.timedelta(days=15), tick=False):
        assert client.get(path).status_code == 410
        response = client.post(path, {"post": post.pk, "name": "Clara", "decision": "approve"})
        assert response.status_code == 410
    assert refresh(post).status == S.IN_REVIEW


def test_a_revoked_link_answers_410(client, editor, channel, manager):
    post = new_post(editor, channel)
    path = _link_for(client, manager, post)
    link = ReviewLink.objects.get()
    login(client, manager).post(url("review_link_revoke", link.pk))
    client.logout()
    response = client.get(path)
    assert response.status_code == 410
    assert "revoked" in response.content.decode()


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_only_managers_and_owners_share_review_links(client, members, channel, role):
    post = new_post(members[Role.EDITOR], channel)
    login(client, members[role]).post(url("review_link_create", post.pk), RECIPIENT)
    assert not ReviewLink.objects.exists()


def test_a_manager_shares_several_posts_from_the_queue_in_one_link(
    client, editor, manager, channel
):
    posts = [in_review(editor, channel) for _ in range(2)]
    response = login(client, manager).post(
        url("review_link_share"), {"post": [p.pk for p in posts], **RECIPIENT}, follow=True
    )
    link = ReviewLink.objects.get()
    assert set(link.posts.all()) == set(posts)
    assert (link.recipient_name, link.recipient_email) == ("Clara Client", "clara@client.example")
    html = response.content.decode()
    assert 'data-testid="copy-link"' in html
    shown = re.search(r'value="http://testserver(/review/[^"]+/)"', html).group(1)
    # shown once: the next visit of the queue no longer has it
    assert 'data-testid="new-review-link"' not in client.get(url("review_queue")).content.decode()
    client.logout()
    page = client.get(shown, follow=True).content.decode()
    assert page.count('data-testid="external-post"') == 2


def test_only_a_hash_of_the_token_is_stored(client, editor, channel, manager):
    post = new_post(editor, channel)
    path = _link_for(client, manager, post)
    link = ReviewLink.objects.get()
    assert link.token_hash not in path
    assert len(link.token_hash) == 64


# --- the approvals settings page -------------------------------------------------------------


def _policy_post(**overrides) -> dict:
    data = {
        "mode": "required",
        "reminder_hours": 12,
        "skip_roles": ["owner"],
        "steps-TOTAL_FORMS": 2,
        "steps-INITIAL_FORMS": 0,
        "steps-0-name": "Team lead",
        "steps-0-roles": ["manager"],
        "steps-0-required": 1,
        "steps-1-name": "Legal",
        "steps-1-roles": ["owner"],
        "steps-1-required": 1,
        "steps-1-external": "on",
    }
    return data | overrides


def test_the_owner_saves_the_approval_policy(client, owner):
    response = login(client, owner).post(url("approval_policy"), _policy_post())
    assert response.status_code == 302
    policy = ApprovalPolicy.objects.get()
    assert (policy.mode, policy.reminder_hours, policy.skip_roles) == ("required", 12, ["owner"])
    assert [(s.name, s.approver_roles, s.external) for s in policy.steps.all()] == [
        ("Team lead", ["manager"], False),
        ("Legal", ["owner"], True),
    ]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EDITOR, Role.VIEWER])
def test_other_roles_see_the_policy_read_only_and_cannot_post(client, members, role):
    login(client, members[role])
    page = client.get(url("approval_policy"))
    assert page.status_code == 200
    assert 'data-testid="save-policy"' not in page.content.decode()
    assert client.post(url("approval_policy"), _policy_post()).status_code == 403
    assert not ApprovalPolicy.objects.exists()


def test_a_step_without_approvers_is_refused(client, owner):
    data = _policy_post(**{"steps-1-roles": [], "steps-1-external": ""})
    data.pop("steps-1-external")
    response = login(client, owner).post(url("approval_policy"), data)
    assert response.status_code == 400
    assert "needs at least one role" in response.content.decode()
    assert not ApprovalPolicy.objects.exists()


def test_named_members_from_the_policy_page(client, owner, workspace):
    lawyer = MembershipFactory(workspace=workspace, user=UserFactory(username="lawyer"))
    data = _policy_post(**{"steps-1-roles": [], "steps-1-members": [lawyer.pk]})
    login(client, owner).post(url("approval_policy"), data)
    step = ApprovalPolicy.objects.get().steps.get(name="Legal")
    assert list(step.approver_members.all()) == [lawyer.user]


@pytest.mark.parametrize("days", [1, 30, 90])
def test_a_review_link_lasts_as_long_as_the_manager_chose(client, editor, manager, channel, days):
    post = new_post(editor, channel)
    before = timezone.now()
    login(client, manager).post(url("review_link_create", post.pk), {"days": days, **RECIPIENT})
    link = ReviewLink.objects.get()
    assert before + dt.timedelta(days=days) <= link.expires_at
    assert link.expires_at <= timezone.now() + dt.timedelta(days=days)


@pytest.mark.parametrize("days", [0, 91, -3])
def test_a_review_link_lifetime_outside_1_to_90_days_is_refused(
    client, editor, manager, channel, days
):
    post = new_post(editor, channel)
    response = login(client, manager).post(
        url("review_link_create", post.pk), {"days": days, **RECIPIENT}, follow=True
    )
    if days == 0:  # "0" is no choice at all: the default applies
        assert ReviewLink.objects.get().expires_at > timezone.now() + dt.timedelta(days=13)
    else:
        assert not ReviewLink.objects.exists()
        assert "1 to 90 days" in response.content.decode()


def test_the_queue_shares_with_the_chosen_lifetime(client, editor, manager, channel):
    posts = [in_review(editor, channel) for _ in range(2)]
    page = login(client, manager).get(url("review_queue")).content.decode()
    assert 'data-testid="link-days"' in page
    client.post(url("review_link_share"), {"post": [p.pk for p in posts], "days": 3, **RECIPIENT})
    link = ReviewLink.objects.get()
    assert link.expires_at < timezone.now() + dt.timedelta(days=3, minutes=1)

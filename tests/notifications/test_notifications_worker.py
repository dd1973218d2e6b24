"""End to end: notify() in a transaction, a real Celery worker sends the e-mail after commit."""

from __future__ import annotations

import atexit
import email
import email.policy
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from calendar_app.models import Role
from config.celery import app
from notifications.models import Kind, Notification
from notifications.services import notify
from tests.factories import MembershipFactory, PostFactory, UserFactory

# The shared worker subprocess takes its settings from os.environ when it starts, which is always
# after collection (whichever test starts it), so its mail backend is chosen here, at import: it
# writes files into a directory of this test process. The test process itself keeps locmem.
MAIL_DIR = Path(tempfile.mkdtemp(prefix="notifications-mail-"))
atexit.register(shutil.rmtree, MAIL_DIR, ignore_errors=True)
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
os.environ["EMAIL_FILE_PATH"] = str(MAIL_DIR)

POLL_SECONDS = 20.0


def _messages_to(address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in MAIL_DIR.glob("*.log"):
        for raw in path.read_text().split("-" * 79):
            if raw.strip():
                message = email.message_from_string(raw.strip(), policy=email.policy.default)
                if message["To"] == address:
                    found.append(message)
    return found


def _wait_for_messages(address: str) -> list[email.message.EmailMessage]:
    deadline = time.monotonic() + POLL_SECONDS
    while time.monotonic() < deadline:
        if found := _messages_to(address):
            return found
        time.sleep(0.1)
    return []


@pytest.fixture
def default_queue_of_the_test_worker(celery_worker_queue):
    """Tasks enqueued without a queue (like the e-mail task) go to this process's test worker."""
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = celery_worker_queue
    yield celery_worker_queue
    app.conf.task_default_queue = previous


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_given_a_running_worker_when_a_german_member_is_notified_then_the_worker_mails_in_german(
    real_celery_worker, default_queue_of_the_test_worker, workspace, settings
):
    address = f"reviewer-{os.getpid()}-{time.monotonic_ns()}@example.com"
    reviewer = UserFactory(username="reviewer", email=address, language="de")
    author = UserFactory(username="autorin", first_name="Erika", last_name="Muster")
    MembershipFactory(workspace=workspace, user=reviewer, role=Role.MANAGER)
    MembershipFactory(workspace=workspace, user=author, role=Role.EDITOR)
    post = PostFactory(workspace=workspace, author=author, title="Frühlingsaktion")

    notify(
        kind=Kind.SUBMITTED,
        recipients=[reviewer, author],
        workspace=workspace,
        post=post,
        actor=author,
    )

    messages = _wait_for_messages(address)
    assert len(messages) == 1, f"no e-mail to {address} in {MAIL_DIR} within {POLL_SECONDS} s"
    (message,) = messages
    subject = " ".join(message["Subject"].split())  # Django folds the long encoded header
    assert subject == "[Acme] Erika Muster hat „Frühlingsaktion“ zur Freigabe eingereicht"
    body = message.get_content()
    assert "Hallo reviewer," in body
    assert f"{settings.SITE_URL}/w/acme/posts/{post.pk}/" in body
    assert Notification.objects.filter(recipient=reviewer).count() == 1
    assert not Notification.objects.filter(recipient=author).exists()  # the actor

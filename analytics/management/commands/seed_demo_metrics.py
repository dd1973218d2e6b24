"""`manage.py seed_demo_metrics`: simulated engagement for the demo workspace (analytics.demo).

Run after seed_demo (make run does). Idempotent: a second run duplicates nothing; it only adds
the pulls, days and posts that have become due since the last run.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.demo import DemoMetrics
from calendar_app.management.commands.seed_demo import WORKSPACE
from calendar_app.models import Workspace


class Command(BaseCommand):
    help = "Simulate published posts, their numbers, followers and link clicks for the demo."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workspace",
            default=WORKSPACE["slug"],
            help="Slug of the workspace (default: the demo workspace).",
        )

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(
                f"There is no workspace “{options['workspace']}”: run manage.py seed_demo first."
            )
        outcome = DemoMetrics(workspace).run()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo analytics for “{workspace.name}”: {outcome.published_posts} posts "
                f"published, {outcome.remote_posts} new published posts, {outcome.snapshots} "
                f"snapshots, {outcome.account_snapshots} follower counts, {outcome.clicks} "
                f"short-link clicks."
            )
        )

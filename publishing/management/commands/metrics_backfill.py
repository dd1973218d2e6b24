"""Run a channel's history backfill again (what connecting it does): its posts of the last days
on the platform are followed, ones already followed are left alone."""

from django.core.management.base import BaseCommand, CommandError

from calendar_app.models import Channel
from publishing.adapters.base import AdapterError, TransientError
from publishing.metrics.backfill import backfill_problem, remote_posts_backfill
from publishing.metrics.reads import PullLater


class Command(BaseCommand):
    help = "Find a channel's recent posts on its platform and follow their engagement numbers."

    def add_arguments(self, parser) -> None:
        parser.add_argument("channel_ids", nargs="+", type=int, metavar="channel_id")
        parser.add_argument(
            "--days", type=int, default=None, help="How far back (default METRICS_BACKFILL_DAYS)."
        )

    def handle(self, *args, channel_ids: list[int], days: int | None, **options) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        channels = Channel.objects.in_bulk(channel_ids)
        unknown = [pk for pk in channel_ids if pk not in channels]
        if unknown:
            raise CommandError(f"No channel with id {', '.join(map(str, unknown))}.")
        failed = False
        for channel_id in channel_ids:
            problem = backfill_problem(channels[channel_id])
            if problem:
                self.stderr.write(f"Channel {channel_id}: {problem}")
                failed = True
                continue
            try:
                added = remote_posts_backfill(channel_id=channel_id, days=days)
            except PullLater as wait:
                self.stderr.write(
                    f"Channel {channel_id}: rate limited, try again in {wait.seconds:.0f} s."
                )
                failed = True
            except TransientError as exc:
                self.stderr.write(f"Channel {channel_id}: {exc.message} Try again later.")
                failed = True
            except AdapterError as exc:
                self.stderr.write(f"Channel {channel_id}: {exc.message}")
                failed = True
            else:
                self.stdout.write(f"Channel {channel_id}: {added} post(s) added.")
        if failed:
            raise CommandError("Some channels could not be backfilled.")

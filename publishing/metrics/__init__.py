"""Engagement numbers into the database: which published posts we follow (enrolment and history
backfill), when their numbers are due (the decaying schedule), the due sweep that hands them to
the metrics queue in per-channel batches, the batch pull itself, and daily account snapshots.

The pull schedule, in one place (`SCHEDULE`): 15 min, 1 h, 6 h, 24 h, 3 d, 7 d and 30 d after a
post was published, then it stops (`next_pull_at` NULL). `RemotePost.step` is the index of the
step `next_pull_at` stands for. Rules:
- A pull that comes late (a backlog, a paused channel) or a post that joins late (enrolled after
  an outage, found by the history backfill) continues at the first step still in the future;
  steps in the past are not pulled one after another.
- Quiet posts are pulled less often: after `QUIET_AFTER` (2) pulls in a row that brought the same
  numbers, the next step is skipped. The last step is never skipped, so every post gets its
  30-day count.
- A failed pull (transient, rate limited) is retried with backoff (Retry-After honoured) without
  moving on; after `METRICS_MAX_FAILURES` failures, or at once when retrying cannot help
  (PermanentError), that step is given up and the post continues at its next step with the
  error kept in `last_error`. A post the platform leaves out of its answer is asked for again
  soon; left out again, it stops (deleted on the platform), with `last_error`.
- A channel that is paused, needs reconnecting or has no credentials is held: its posts come
  back after `METRICS_HOLD_SECONDS`, with no failure counted.

Idempotency: the due sweep claims posts by moving `next_pull_at` to a lease (SKIP LOCKED on
PostgreSQL, a compare-and-set elsewhere) and the batch task carries that lease; it writes only
rows still at it (a compare-and-set: on PostgreSQL in the same statement as the write, on SQLite
inside its write transaction), so a task that runs twice or after its lease was taken over
writes nothing. Snapshots are numbered by the schedule step
they were taken for (`seq` = step + 1; a backfilled post's first snapshot, from the listing, gets
the step it joins at): (remote_post, seq) is unique, a second insert is ignored.

Rate limits: pulls take tokens from the engine's per-channel token bucket (publishing.ratelimit's
script, Redis) but from a bucket of their own (`METRICS_RATE_LIMITS`): platforms limit reads
apart from writes (X, Meta and LinkedIn per endpoint), and a metrics backlog sharing the
publishing bucket would push scheduled posts back. The two defaults together stay within
Mastodon's 300 calls per 5 minutes, where one budget covers both. A batch whose bucket is empty
keeps its reserved slot and is sent again for then (waiting, not failing).

The parts, each importing only those above it:
- schedule.py  the decaying schedule (plain arithmetic)
- reads.py     settings, the adapter, the read bucket, a credentials-refreshing call
- enrol.py     published deliveries onto the schedule
- sweep.py     the due sweep and the batches it sends (`metrics_sweep`, beat)
- write.py     one pulled batch's compare-and-set write and its snapshots
- pull.py      the batch task (`remote_posts_pull`)
- accounts.py  daily account snapshots
- backfill.py  a connected channel's recent history

Callers import from the part they use; this package re-exports nothing.
"""

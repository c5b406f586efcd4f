"""Several machines on one PostgreSQL database: ``pactwatch worker`` × N (Procrastinate's job queue: feed
polls, digests, summaries, retention, stalled-job sweeps; the outbox over REST) and one active
``pactwatch gateway`` (chat commands). Procrastinate is imported only here, and only when a worker or
gateway starts: ``pactwatch run`` never loads it."""

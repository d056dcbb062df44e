"""The reference Faust app for bench_pipeline.py: one agent that only reads and counts.

It measures the framework's own wall (consumer, stream, event bookkeeping, offset commits) on
the same broker and partitions as txmon, with none of txmon's work. Run as a script by the
benchmark, configured by environment variables:

    BENCH_BROKER    host:port of the broker
    BENCH_TOPIC     input topic (4 partitions, preloaded)
    BENCH_APP_ID    unique Faust app id
    BENCH_EXPECTED  events to count before the final progress record
    BENCH_PROGRESS  JSON file the agent rewrites every 1,000 events and at BENCH_EXPECTED
    BENCH_DATADIR   Faust data directory

The settings mirror txmon's embedded profile (memory store, short group joins for Tansu,
`auto_offset_reset=earliest`, no web server, `-l info` so no spinner).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import faust


def write_progress(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)


def build_app() -> faust.App:
    env = os.environ
    expected = int(env["BENCH_EXPECTED"])
    progress = Path(env["BENCH_PROGRESS"])
    app = faust.App(
        env["BENCH_APP_ID"],
        broker=f"kafka://{env['BENCH_BROKER']}",
        store="memory://",
        datadir=env["BENCH_DATADIR"],
        topic_partitions=4,
        topic_disable_leader=True,
        web_enabled=False,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
    )
    topic = app.topic(env["BENCH_TOPIC"], key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    @app.agent(topic, name="count")
    async def count(stream: Any) -> None:
        n = 0
        first = first_cpu = 0.0
        async for _value in stream:
            n += 1
            if n == 1:
                first, first_cpu = time.time(), time.process_time()
            if n % 1000 == 0 or n == expected:
                write_progress(progress, {
                    "count": n, "first": first, "first_cpu": first_cpu,
                    "last": time.time(), "last_cpu": time.process_time(),
                })

    return app


if __name__ == "__main__":
    faust.Worker(build_app(), loglevel="info", quiet=True).execute_from_commandline()

"""Where an order's notification spends its time, from the databases of a distributed run.

`pipeline_latency.py PG_URL RUN` reads the orders outbox (`created_at`: the event committed with
the order; `sent_at`: the relay had the broker's acknowledgement) and the notifier's processed
event ids (`processed_at`: the notifier stored the notification) of the run's databases
(`<RUN>_orders`, `<RUN>_notifier`) and prints one line: p50/p99 of outbox → published and of
published → stored, in milliseconds, over the events the outbox still keeps (its newest 10 000).
Standard library only; runs psql.
"""
import subprocess
import sys

pg_url, run = sys.argv[1], sys.argv[2]


def rows(service, sql):
    out = subprocess.run(
        ["psql", f"{pg_url}/{run}_{service}", "-tAF,", "-c", sql],
        capture_output=True, text=True, check=True,
    ).stdout
    return [line.split(",") for line in out.splitlines() if line]


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


# The outbox row's id is the event id.
outbox = {
    event_id: (int(created), int(sent))
    for event_id, created, sent in rows(
        "orders", "SELECT id, created_at, sent_at FROM outbox WHERE sent_at IS NOT NULL"
    )
}
processed = {
    event_id: int(at)
    for event_id, at in rows("notifier", "SELECT event_id, processed_at FROM processed_events")
}
relayed = [sent - created for created, sent in outbox.values()]
consumed = [processed[event_id] - sent for event_id, (_, sent) in outbox.items() if event_id in processed]
if not relayed or not consumed:
    print("nan nan nan nan 0")
else:
    print(
        f"{percentile(relayed, 0.5)} {percentile(relayed, 0.99)} "
        f"{percentile(consumed, 0.5)} {percentile(consumed, 0.99)} {len(consumed)}"
    )

"""confluent-kafka-python (librdkafka) group consumer for driver/clients_groups_test.go.

Usage: python3 confluent_kafka_group.py BOOTSTRAP TOPIC GROUP COUNT

Joins GROUP with subscribe() (session.timeout.ms 6000, offsets reset to
the earliest, auto-commit off), consumes COUNT records, commits them
synchronously, then close() (which leaves the group). Prints "PARTITION
OFFSET HEX" per record consumed; any error, or a record seen twice, exits 1
with the error on stderr.
"""

import sys
import time

from confluent_kafka import Consumer

DEADLINE_SECONDS = 40  # the Go test allows the process 60s


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 5:
        fail(__doc__)
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    assigned = []
    c.subscribe([topic], on_assign=lambda _c, ps: assigned.extend(p.partition for p in ps))
    seen = set()
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while len(seen) < count:
            if time.monotonic() > deadline:
                fail(f"consume: {len(seen)} of {count} records in {DEADLINE_SECONDS}s (assigned {sorted(assigned)})")
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                fail(f"consume: {msg.error()}")
            key = (msg.partition(), msg.offset())
            if key in seen:
                fail(f"consume: partition {key[0]} offset {key[1]} delivered twice")
            seen.add(key)
            print(msg.partition(), msg.offset(), (msg.value() or b"").hex(), flush=True)
        # Commits the position of every assigned partition: past the last
        # record consumed.
        c.commit(asynchronous=False)
    finally:
        c.close()


if __name__ == "__main__":
    main()

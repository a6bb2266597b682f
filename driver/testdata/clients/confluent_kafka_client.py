"""confluent-kafka-python (librdkafka) client for driver/clients_test.go.

Usage: python3 confluent_kafka_client.py BOOTSTRAP TOPIC COMPRESSION < values

stdin holds one value per line, hex-encoded. Every value is produced to
partition 0 (acks=all, compression.type=COMPRESSION), then read back by
partition: assign(), never subscribe() (the broker has no consumer groups
yet; group.id is set only because this client's Consumer requires it, and
no offset is committed), up to the end of the partition. Prints "OFFSET HEX"
per record consumed; any error exits 1 with the error on stderr.
"""

import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

DEADLINE_SECONDS = 30  # for each phase; the Go test allows the process 60s


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def produce(bootstrap, topic, compression, values):
    errors = []
    offsets = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            offsets.append(msg.offset())

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "compression.type": compression,
                  "linger.ms": 5, "message.timeout.ms": DEADLINE_SECONDS * 1000})
    for v in values:
        p.produce(topic, value=v, partition=0, on_delivery=on_delivery)
        p.poll(0)
    left = p.flush(DEADLINE_SECONDS)
    if left or errors:
        fail(f"produce: {left} undelivered, errors {errors[:3]}")
    if sorted(offsets) != list(range(len(values))):
        fail(f"produce: delivery offsets {sorted(offsets)[:10]}..., want 0..{len(values) - 1}")


def consume(bootstrap, topic, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "takhin-unused", "enable.auto.commit": False,
                  "enable.auto.offset.store": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = 0
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        # Read every record, then on to the end of the partition: the
        # consumer must also parse a fetch that returns nothing.
        while True:
            if time.monotonic() > deadline:
                fail(f"consume: {got} of {count} records and no end of partition in {DEADLINE_SECONDS}s")
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    if got == count:
                        return
                    continue
                fail(f"consume: {msg.error()}")
            if got == count:
                fail(f"consume: a record past the {count} produced, at offset {msg.offset()}")
            print(msg.offset(), (msg.value() or b"").hex(), flush=True)
            got += 1
    finally:
        c.close()


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    bootstrap, topic, compression = sys.argv[1:]
    values = [bytes.fromhex(line) for line in sys.stdin.read().split("\n") if line]
    produce(bootstrap, topic, compression, values)
    consume(bootstrap, topic, len(values))


if __name__ == "__main__":
    main()

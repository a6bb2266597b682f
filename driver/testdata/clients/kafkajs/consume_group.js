// KafkaJS group consumer for driver/clients_groups_test.go
// (TestClientGroupKafkaJS).
//
// Usage: node consume_group.js BROKER TOPIC GROUP COUNT
// Joins GROUP (sessionTimeout 6000 ms), subscribes to TOPIC from the
// beginning, and consumes with consumer.run's eachMessage, auto-commit off,
// until COUNT records arrived; then commits, for every partition read, the
// offset after its last record, and disconnects (which leaves the group).
// Prints "PARTITION OFFSET HEX" per record; any error exits 1 with the
// error on stderr.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [broker, topic, groupId, countArg] = process.argv.slice(2)
  const count = Number(countArg)
  if (!broker || !topic || !groupId || !(count > 0)) throw new Error('usage: node consume_group.js BROKER TOPIC GROUP COUNT')

  const kafka = new Kafka({ clientId: 'takhin-kafkajs', brokers: [broker], logLevel: logLevel.WARN, retry: { retries: 2 } })
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10000, maxWaitTimeInMs: 100 })
  const next = {} // partition -> offset after its last record
  let got = 0
  let done, fail
  const finished = new Promise((resolve, reject) => { done = resolve; fail = reject })
  consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error))
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (got >= count) return // past COUNT: not printed, so not committed either
        const offset = BigInt(message.offset)
        if (next[partition] !== undefined && offset < next[partition]) {
          fail(new Error(`partition ${partition} offset ${offset} delivered again`))
          return
        }
        next[partition] = offset + 1n
        console.log(`${partition} ${message.offset} ${(message.value || Buffer.alloc(0)).toString('hex')}`)
        if (++got === count) done()
      },
    })
    await finished
    const partitions = Object.keys(next).map(Number).sort((a, b) => a - b)
    await consumer.commitOffsets(partitions.map((partition) => ({ topic, partition, offset: next[partition].toString() })))
  } finally {
    await consumer.disconnect()
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})

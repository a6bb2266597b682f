// KafkaJS producer for driver/clients_test.go (TestClientKafkaJS).
//
// Usage: node produce.js BROKER TOPIC < values
// stdin holds one value per line, hex-encoded. Every value goes to
// partition 0 with acks=-1, in sends of 50: the first half uncompressed,
// the second half gzip. For each send it prints "sent CODEC BASEOFFSET
// COUNT"; any error exits 1 with the error on stderr. (KafkaJS consumes
// only through groups, so the test reads the records back with kgo.)
'use strict'

const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

async function main() {
  const [broker, topic] = process.argv.slice(2)
  if (!broker || !topic) throw new Error('usage: node produce.js BROKER TOPIC < values')
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const values = Buffer.concat(chunks).toString('ascii').split('\n').filter((l) => l !== '').map((l) => Buffer.from(l, 'hex'))

  const kafka = new Kafka({ clientId: 'takhin-kafkajs', brokers: [broker], logLevel: logLevel.WARN, retry: { retries: 2 } })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    const half = Math.floor(values.length / 2)
    const sends = []
    for (const [from, to, gzip] of [[0, half, false], [half, values.length, true]]) {
      for (let i = from; i < to; i += 50) sends.push({ gzip, values: values.slice(i, Math.min(i + 50, to)) })
    }
    for (const s of sends) {
      const res = await producer.send({
        topic,
        acks: -1,
        timeout: 10000,
        compression: s.gzip ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: s.values.map((value) => ({ partition: 0, value })),
      })
      for (const r of res) {
        if (r.errorCode !== 0) throw new Error(`send: ${JSON.stringify(r)}`)
        console.log(`sent ${s.gzip ? 'gzip' : 'none'} ${r.baseOffset} ${s.values.length}`)
      }
    }
  } finally {
    await producer.disconnect()
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})

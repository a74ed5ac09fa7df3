#!/usr/bin/env node
// Waits until the test broker serves clients, then warms its coordinators so that the first test
// does not pay for them: `node test/kafka/ready.mjs <host:port> <timeout-seconds>`.
//
// Ready means: an admin can describe the cluster, the group coordinator answers (which creates
// __consumer_offsets) and one transactional producer has committed (which creates
// __transaction_state and loads the transaction coordinator). Every step is retried until the
// deadline; the exit code is 0 when ready and 1 when the deadline passed. DX_READY_LOG=WARN (a
// kafkajs log level) shows what kafkajs says meanwhile.
import { Kafka, logLevel } from 'kafkajs'

const [bootstrap = '127.0.0.1:19092', timeoutText = '90'] = process.argv.slice(2)
const deadline = Date.now() + Number(timeoutText) * 1000
const WARMUP_TOPIC = '__dx_warmup'
const POLL_MS = 250

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const kafka = new Kafka({ clientId: 'dx-ready', brokers: [bootstrap], logLevel: logLevel[process.env.DX_READY_LOG ?? 'NOTHING'], connectionTimeout: 1000, requestTimeout: 5000, retry: { retries: 0 } })

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `step` until it succeeds or the deadline passes. */
async function until(name, step) {
  let last
  while (Date.now() < deadline) {
    try {
      return await step()
    } catch (error) {
      last = error
      await sleep(POLL_MS)
    }
  }
  throw new Error(`${name}: not ready before the deadline (${last?.message ?? 'no attempt'})`)
}

async function withAdmin(fn) {
  const admin = kafka.admin({ retry: { retries: 0 } })
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

async function main() {
  const started = Date.now()
  await until('describeCluster', () => withAdmin((admin) => admin.describeCluster()))
  await until('warm-up topic', () =>
    withAdmin(async (admin) => {
      const topics = await admin.listTopics()
      if (!topics.includes(WARMUP_TOPIC)) await admin.createTopics({ waitForLeaders: true, topics: [{ topic: WARMUP_TOPIC, numPartitions: 1, replicationFactor: 1 }] })
    }),
  )
  // listTopics first: a fresh kafkajs admin has no broker in its pool until metadata is loaded.
  await until('group coordinator', () => withAdmin(async (admin) => (await admin.listTopics(), admin.fetchOffsets({ groupId: 'dx-warmup', topics: [WARMUP_TOPIC] }))))
  await until('transaction coordinator', async () => {
    const producer = kafka.producer({ transactionalId: 'dx-warmup', idempotent: true, maxInFlightRequests: 1, retry: { retries: 3 } })
    await producer.connect()
    try {
      const tx = await producer.transaction()
      try {
        await tx.send({ topic: WARMUP_TOPIC, messages: [{ value: 'warm-up' }] })
        await tx.commit()
      } catch (error) {
        await tx.abort().catch(() => {})
        throw error
      }
    } finally {
      await producer.disconnect()
    }
  })
  process.stderr.write(`[ready.mjs] ${bootstrap} ready in ${Date.now() - started} ms\n`)
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`[ready.mjs] ${error.message}\n`)
    process.exit(1)
  },
)

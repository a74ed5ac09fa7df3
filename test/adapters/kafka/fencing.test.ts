// Goal: leader-epoch fencing holds across processes' worth of KafkaJobLog instances sharing one
// cluster (one transactional id), reads skip what a read_committed consumer would skip, and a
// 50,000-record log replays quickly. Method: real broker, two instances on one topic, and a raw
// kafkajs producer writing aborted and foreign records beside the log's own.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { KafkaJobLog } from '../../../src/adapters/kafka/job-log.js'
import type { LogRecord } from '../../../src/storage/types.js'
import { ensureKafka } from '../../helpers/services.js'
import { readAll } from '../../storage/job-log.suite.js'
import { deleteTopics, env, uniqueName } from './kafka-test-env.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (payload: Uint8Array): string => new TextDecoder().decode(payload)
const shape = (records: readonly LogRecord[]) => records.map((r) => [r.epoch, text(r.payload)])

let bootstrap = ''
const topics: string[] = []
const logs: KafkaJobLog[] = []

/** Two or more job logs of one cluster on one topic, as two nodes of a cluster would have. */
function nodes(count: number): KafkaJobLog[] {
  const cluster = uniqueName('fencing')
  const topic = uniqueName('dx-test-fencing')
  topics.push(topic)
  const made = Array.from({ length: count }, () => new KafkaJobLog({ brokers: [bootstrap], cluster, topic, env }))
  logs.push(...made)
  return made
}

async function rejectsFenced(promise: Promise<unknown>, epoch: number, fencedBy: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal((error as Error).name, 'FencedError')
    assert.equal((error as { epoch?: number }).epoch, epoch)
    assert.equal((error as { fencedBy?: number }).fencedBy, fencedBy)
    return true
  })
}

before(async () => {
  bootstrap = await ensureKafka()
})

after(async () => {
  await Promise.all(logs.map((log) => log.close()))
  await deleteTopics(bootstrap, topics)
})

describe('KafkaJobLog fencing across instances', { timeout: 120_000 }, () => {
  test("a new leader's fence makes the deposed leader's next append fail with FencedError", async () => {
    const [a, b] = nodes(2) as [KafkaJobLog, KafkaJobLog]
    await a.fence(1)
    await a.append(1, [bytes('a1')])
    await b.fence(2)
    await rejectsFenced(a.append(1, [bytes('a1 late')]), 1, 2)
    await rejectsFenced(a.fence(1), 1, 2)
    await b.append(2, [bytes('b2')])
    assert.deepEqual(shape(await readAll(a)), [
      [1, 'a1'],
      [2, 'b2'],
    ])
  })

  test('a stale fence does not disturb the current leader; a higher epoch takes over and fences it', async () => {
    const [a, b] = nodes(2) as [KafkaJobLog, KafkaJobLog]
    await b.fence(2)
    await rejectsFenced(a.fence(1), 1, 2)
    await b.append(2, [bytes('b2 after stale fence')])
    await a.append(3, [bytes('a3')])
    await rejectsFenced(b.append(2, [bytes('b2 deposed')]), 2, 3)
    assert.deepEqual(shape(await readAll(b)), [
      [2, 'b2 after stale fence'],
      [3, 'a3'],
    ])
    assert.equal(b.epoch, 3)
  })

  test('epochs in the log never go down, whatever order the instances act in', async () => {
    const group = nodes(3)
    for (let round = 1; round <= 6; round++) {
      const leader = group[round % 3]!
      await leader.fence(round)
      await leader.append(round, [bytes(`r${round}`)])
      for (const other of group) if (other !== leader) await assert.rejects(other.append(round - 1, [bytes('stale')]), { name: 'FencedError' })
    }
    const records = await readAll(group[0]!)
    assert.deepEqual(
      records.map((r) => text(r.payload)),
      ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'],
    )
    for (let i = 1; i < records.length; i++) assert.ok(records[i]!.epoch >= records[i - 1]!.epoch)
  })
})

describe('KafkaJobLog reads', { timeout: 120_000 }, () => {
  test('records of aborted transactions and records no job log wrote are skipped', async () => {
    const [log] = nodes(1) as [KafkaJobLog]
    await log.append(1, [bytes('before')])
    const kafka = new Kafka({ clientId: 'dx-test-raw', brokers: [bootstrap], logLevel: logLevel.NOTHING })
    const raw = kafka.producer({ transactionalId: uniqueName('raw'), idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
    await raw.connect()
    try {
      const aborted = await raw.transaction()
      await aborted.send({ topic: log.topic, messages: [{ partition: 0, value: 'aborted', headers: { 'dx-epoch': '1' } }] })
      await aborted.abort()
      const foreign = await raw.transaction()
      await foreign.send({ topic: log.topic, messages: [{ partition: 0, value: 'no epoch header' }] })
      await foreign.commit()
    } finally {
      await raw.disconnect()
    }
    await log.append(1, [bytes('after')])
    const records = await readAll(log)
    assert.deepEqual(shape(records), [
      [1, 'before'],
      [1, 'after'],
    ])
    assert.ok(records[1]!.offset - records[0]!.offset > 1, 'markers and skipped records occupy offsets between them')
  })

  test('a 50,000-record log replays in reads of 5,000', async (t) => {
    const [log] = nodes(1) as [KafkaJobLog]
    const payload = (i: number): Uint8Array => {
      const p = new Uint8Array(200)
      new DataView(p.buffer).setUint32(0, i)
      return p
    }
    const appendStarted = performance.now()
    for (let batch = 0; batch < 50; batch++)
      await log.append(
        1,
        Array.from({ length: 1000 }, (_, i) => payload(batch * 1000 + i)),
      )
    const appendMs = performance.now() - appendStarted
    const replayStarted = performance.now()
    const records = await readAll(log, 0, 5000)
    const replayMs = performance.now() - replayStarted
    assert.equal(records.length, 50_000)
    records.forEach((r, i) => assert.equal(new DataView(r.payload.buffer, r.payload.byteOffset).getUint32(0), i))
    t.diagnostic(
      `append: 50 x 1000 x 200 B in ${appendMs.toFixed(0)} ms (${Math.round(50_000 / (appendMs / 1000))} records/s); replay: ${replayMs.toFixed(0)} ms (${Math.round(50_000 / (replayMs / 1000))} records/s)`,
    )
    assert.ok(replayMs < 20_000, `replay took ${replayMs} ms`)
  })
})

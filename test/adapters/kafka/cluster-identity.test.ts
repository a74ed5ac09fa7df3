// Goal: a Kafka job log records the cluster that started it, and another cluster's leader refuses
// it with ClusterMismatchError before any epoch check (a new cluster's epoch 1 would otherwise just
// read as fenced by the old cluster's epoch 7). Method: real broker, logs of two cluster ids on one
// topic; the first fence marker carries the starter's id.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { KafkaJobLog } from '../../../src/adapters/kafka/job-log.js'
import { ClusterMismatchError } from '../../../src/storage/errors.js'
import { ensureKafka } from '../../helpers/services.js'
import { readAll } from '../../storage/job-log.suite.js'
import { deleteTopics, env, uniqueName } from './kafka-test-env.js'

const topic = uniqueName('dx-test-identity')
const logs: KafkaJobLog[] = []
after(async () => {
  await Promise.all(logs.map((l) => l.close()))
  await deleteTopics(await ensureKafka(), [topic])
})

async function open(clusterId: string | undefined, name: string): Promise<KafkaJobLog> {
  const log = new KafkaJobLog({ brokers: [await ensureKafka()], cluster: name, topic, env, ...(clusterId === undefined ? {} : { clusterId }) })
  logs.push(log)
  return log
}

test("a leader of another cluster refuses a log this cluster started; the starter's own leaders keep it", { timeout: 120_000 }, async () => {
  const first = await open('cluster-a', uniqueName('a'))
  await first.fence(7)
  await first.append(7, [new TextEncoder().encode('job')])
  await first.close()

  const stranger = await open('cluster-b', uniqueName('b'))
  await assert.rejects(stranger.fence(1), (error: unknown) => {
    assert.ok(error instanceof ClusterMismatchError, `expected ClusterMismatchError, got ${String(error)}`)
    assert.equal(error.recorded, 'cluster-a')
    assert.equal(error.requested, 'cluster-b')
    assert.match(error.message, /belongs to cluster cluster-a/)
    return true
  })
  await assert.rejects(stranger.append(9, [new TextEncoder().encode('x')]), ClusterMismatchError, 'appends too, even with a higher epoch')

  const successor = await open('cluster-a', uniqueName('a2'))
  await successor.fence(8)
  await successor.append(8, [new TextEncoder().encode('more')])
  const records = await readAll(successor)
  assert.deepEqual(
    records.map((r) => new TextDecoder().decode(r.payload)),
    ['job', 'more'],
    "the stranger wrote nothing; the starter's successor appends",
  )
})

// Goal: when Kafka is unreachable, every call of the job log fails with a typed, non-ambiguous
// error within a bounded time and nothing is silently lost; when the broker returns, the same
// instance works again. Method: a broker of this test's own (another port, so the shared one is
// untouched), stopped and restarted on its data; and a log pointed at a closed port.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { KafkaJobLog } from '../../../src/adapters/kafka/job-log.js'
import { kafkaBroker } from '../../helpers/services.js'
import { readAll } from '../../storage/job-log.suite.js'
import { env, uniqueName } from './kafka-test-env.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (payload: Uint8Array): string => new TextDecoder().decode(payload)

/** Generous against the defaults (1 s connect, 5 s request, 2 quick retries, 10 s per step). */
const FAILURE_BOUND_MS = 20_000

async function failsUnavailable(call: () => Promise<unknown>, what: string): Promise<number> {
  const started = performance.now()
  await assert.rejects(call(), (error: unknown) => {
    assert.equal((error as Error).name, 'JobLogUnavailableError', `${what}: ${String(error)}`)
    assert.equal((error as { ambiguous?: boolean }).ambiguous, false, `${what} cannot have taken effect`)
    return true
  })
  const elapsed = performance.now() - started
  assert.ok(elapsed < FAILURE_BOUND_MS, `${what} failed after ${elapsed} ms`)
  return elapsed
}

const broker = kafkaBroker(Number(process.env.DX_KAFKA_OUTAGE_PORT ?? 19192))

before(async () => {
  await broker.start()
})

after(async () => {
  await broker.stop()
})

test('broker down: typed errors in bounded time; broker back: the same instance recovers with nothing lost', { timeout: 180_000 }, async (t) => {
  const log = new KafkaJobLog({ brokers: [broker.bootstrap], cluster: uniqueName('outage'), topic: uniqueName('dx-test-outage'), env })
  t.after(() => log.close())
  await log.fence(1)
  await log.append(1, [bytes('before')])

  await broker.stop()
  const appendMs = await failsUnavailable(() => log.append(1, [bytes('during')]), 'append')
  const readMs = await failsUnavailable(() => log.read(0, 10), 'read')
  const endMs = await failsUnavailable(() => log.endOffset(), 'endOffset')
  t.diagnostic(`while down: append failed in ${appendMs.toFixed(0)} ms, read in ${readMs.toFixed(0)} ms, endOffset in ${endMs.toFixed(0)} ms`)

  await broker.start({ keepData: true })
  const recovered = performance.now()
  let attempts = 0
  for (;;) {
    attempts++
    try {
      await log.append(1, [bytes('after')])
      break
    } catch (error) {
      assert.equal((error as Error).name, 'JobLogUnavailableError')
      assert.ok(attempts < 30, `no recovery after ${attempts} attempts: ${String(error)}`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  t.diagnostic(`after restart: first append succeeded after ${attempts} attempt(s), ${(performance.now() - recovered).toFixed(0)} ms`)
  assert.deepEqual(
    (await readAll(log)).map((r) => [r.epoch, text(r.payload)]),
    [
      [1, 'before'],
      [1, 'after'],
    ],
  )
})

test('no broker at all: calls fail with JobLogUnavailableError quickly', { timeout: 60_000 }, async () => {
  const log = new KafkaJobLog({ brokers: ['127.0.0.1:1'], cluster: uniqueName('nowhere'), topic: 'dx-test-nowhere', env })
  try {
    await failsUnavailable(() => log.fence(1), 'fence')
    await failsUnavailable(() => log.append(1, [bytes('x')]), 'append')
    await failsUnavailable(() => log.read(0, 1), 'read')
  } finally {
    await log.close()
  }
})

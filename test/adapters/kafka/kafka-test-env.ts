/**
 * Shared pieces of the Kafka adapter tests: a quiet environment, unique names, and a job log on the
 * shared test broker that is torn down with its topic.
 */
import { randomBytes } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaJobLog } from '../../../src/adapters/kafka/job-log.js'
import type { KafkaJobLogInit } from '../../../src/adapters/kafka/options.js'
import { realEnvironment } from '../../../src/env/real.js'
import { ensureKafka } from '../../helpers/services.js'

/** kafkajs's complaints during outage tests are expected; DX_TEST_LOG=debug shows them. */
export const env = realEnvironment({ logLevel: (process.env.DX_TEST_LOG as 'debug' | undefined) ?? 'error' })

/** A name no other test, run or process uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`
}

/** A Kafka job log on a fresh topic of the shared broker. */
export async function freshKafkaJobLog(overrides: Partial<KafkaJobLogInit> = {}): Promise<KafkaJobLog> {
  const bootstrap = await ensureKafka()
  return new KafkaJobLog({ brokers: [bootstrap], cluster: uniqueName('cluster'), topic: uniqueName('dx-test-log'), env, ...overrides })
}

/** Deletes test topics; a missing one is fine. */
export async function deleteTopics(bootstrap: string, topics: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'dx-test-cleanup', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const doomed = topics.filter((t) => existing.has(t))
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed })
  } finally {
    await admin.disconnect()
  }
}

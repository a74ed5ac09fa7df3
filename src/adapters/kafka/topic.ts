/**
 * Creates the job-log topic when absent: one partition (the log is totally ordered), the
 * configured replication factor, and the topic configs (by default kept forever). An existing
 * topic is used as it is.
 */
import type { Kafka } from 'kafkajs'
import type { ResolvedKafkaJobLogInit } from './options.js'

export async function ensureTopic(kafka: Kafka, init: ResolvedKafkaJobLogInit): Promise<void> {
  const admin = kafka.admin({ retry: { retries: init.retries, initialRetryTime: 100, maxRetryTime: 1000 } })
  await admin.connect()
  try {
    if ((await admin.listTopics()).includes(init.topic)) return
    await admin.createTopics({
      waitForLeaders: true,
      timeout: init.operationTimeoutMs,
      topics: [{ topic: init.topic, numPartitions: 1, replicationFactor: init.replicationFactor, configEntries: Object.entries(init.topicConfig).map(([name, value]) => ({ name, value })) }],
    })
  } finally {
    await admin.disconnect()
  }
}

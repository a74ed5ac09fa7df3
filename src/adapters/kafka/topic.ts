/**
 * Creates the job-log topic when absent: one partition (the log is totally ordered), the
 * configured replication factor and `min.insync.replicas`, and the topic configs (by default kept
 * forever). An existing topic is checked before use: a configuration under which Kafka may delete
 * records the job log still needs is refused with KafkaTopicConfigError, since a new leader would
 * replay a log with acknowledged jobs missing. Refused: `cleanup.policy` with `compact` (keeps one
 * record per key), a finite `retention.ms` or `retention.bytes` (an idle cluster's latest snapshot
 * and the jobs after it age out like any other record), and `unclean.leader.election.enable=true`
 * (an out-of-sync replica may lead and drop acknowledged writes). A replication factor or
 * `min.insync.replicas` below the configured ones is a warning: the topic works, with less
 * redundancy than asked for.
 */
import type { Admin, ConfigResourceTypes, Kafka } from 'kafkajs'
import { DistributeXError } from '../../errors.js'
import type { ResolvedKafkaJobLogInit } from './options.js'

/** Thrown when the job-log topic cannot be created as configured or is configured to lose records. */
export class KafkaTopicConfigError extends DistributeXError {
  override readonly name = 'KafkaTopicConfigError'
  override readonly code = 'ERR_KAFKA_TOPIC_CONFIG'
  constructor(
    readonly topic: string,
    readonly problems: readonly string[],
  ) {
    super(`kafka topic ${topic}: ${problems.join('; ')}`)
  }
}

/** kafkajs's ConfigResourceTypes.TOPIC (its enum is not an ESM named export of the CommonJS module). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes

const CHECKED_CONFIGS = ['cleanup.policy', 'retention.ms', 'retention.bytes', 'unclean.leader.election.enable', 'min.insync.replicas']

export async function ensureTopic(kafka: Kafka, init: ResolvedKafkaJobLogInit): Promise<void> {
  const admin = kafka.admin({ retry: { retries: init.retries, initialRetryTime: 100, maxRetryTime: 1000 } })
  await admin.connect()
  try {
    if ((await admin.listTopics()).includes(init.topic)) return await checkTopic(admin, init)
    const { brokers } = await admin.describeCluster()
    if (brokers.length < init.replicationFactor) {
      throw new KafkaTopicConfigError(init.topic, [
        `cannot create it with replication factor ${init.replicationFactor}: the Kafka cluster has ${brokers.length} broker(s); set kafkaReplicationFactor (and kafkaMinInsyncReplicas) for a smaller cluster`,
      ])
    }
    await admin.createTopics({
      waitForLeaders: true,
      timeout: init.operationTimeoutMs,
      topics: [
        {
          topic: init.topic,
          numPartitions: 1,
          replicationFactor: init.replicationFactor,
          configEntries: Object.entries(init.topicConfig).map(([name, value]) => ({ name, value })),
        },
      ],
    })
  } finally {
    await admin.disconnect()
  }
}

async function checkTopic(admin: Admin, init: ResolvedKafkaJobLogInit): Promise<void> {
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC_RESOURCE, name: init.topic, configNames: CHECKED_CONFIGS }] })
  const config = new Map((described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]))
  const problems: string[] = []
  const policy = config.get('cleanup.policy') ?? 'delete'
  if (policy.includes('compact')) problems.push(`cleanup.policy=${policy} keeps one record per key and would drop job records; use cleanup.policy=delete with retention.ms=-1`)
  for (const name of ['retention.ms', 'retention.bytes']) {
    const value = config.get(name)
    if (value !== undefined && value !== '-1') problems.push(`${name}=${value} lets Kafka delete job records a new leader must replay; set ${name}=-1`)
  }
  if (config.get('unclean.leader.election.enable') === 'true')
    problems.push('unclean.leader.election.enable=true lets an out-of-sync replica lead and drop acknowledged records; set it to false')
  if (problems.length > 0) throw new KafkaTopicConfigError(init.topic, problems)
  const metadata = await admin.fetchTopicMetadata({ topics: [init.topic] })
  const replicas = metadata.topics[0]?.partitions[0]?.replicas.length ?? 0
  const minInsync = Number(config.get('min.insync.replicas') ?? '1')
  const wantedMinInsync = Number(init.topicConfig['min.insync.replicas'] ?? '1')
  if (replicas < init.replicationFactor || minInsync < wantedMinInsync) {
    init.env.logger.warn('kafka job log: the existing topic has less redundancy than configured', {
      topic: init.topic,
      replicationFactor: replicas,
      wanted: init.replicationFactor,
      minInsyncReplicas: minInsync,
      wantedMinInsyncReplicas: wantedMinInsync,
    })
  }
}

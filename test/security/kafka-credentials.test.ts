// Goal: the Kafka job log talks to a broker that requires SASL (SCRAM-SHA-256, SCRAM-SHA-512 and
// PLAIN), refuses wrong credentials with a typed error that does not echo them, and refuses an
// existing topic configured to delete records (compaction, finite retention, unclean elections)
// or a new one the cluster cannot replicate as configured; a topic with less redundancy than asked
// is a warning. A real CLI peer started with the credentials in files runs jobs, and neither its
// logs (at debug level) nor /status contain a password; a peer pointed at an unsafe topic does not
// start. Method: a broker of its own with SASL listeners (test/kafka/broker.sh, DX_KAFKA_SASL=1).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { Kafka, logLevel, type SASLOptions } from 'kafkajs'
import { KafkaJobLog } from '../../src/adapters/kafka/job-log.js'
import { KEEP_FOREVER } from '../../src/adapters/kafka/options.js'
import { MemoryLogger } from '../../src/env/logger.js'
import { realEnvironment } from '../../src/env/real.js'
import { uniqueName } from '../adapters/kafka/kafka-test-env.js'
import { Peer, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const run = promisify(execFile)
const BROKER_SH = join(sourceDir(import.meta.dirname), '..', 'kafka', 'broker.sh')
const PORT = Number(process.env.DX_KAFKA_SASL_PORT ?? 19292)
const BOOTSTRAP = `127.0.0.1:${PORT}`
const SCRAM_PASSWORD = 'dx-scram-secret'
const SCRAM: SASLOptions = { mechanism: 'scram-sha-256', username: 'dx', password: SCRAM_PASSWORD }
const env = realEnvironment({ logLevel: 'error' })
const peers: Peer[] = []
let dir = ''

async function broker(command: 'start' | 'stop'): Promise<void> {
  await run('bash', [BROKER_SH, command], { env: { ...process.env, DX_KAFKA_PORT: String(PORT), DX_KAFKA_SASL: '1' }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 })
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-kafka-sasl-'))
  await broker('start')
})
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  await broker('stop')
  await rm(dir, { recursive: true, force: true })
})

function jobLog(sasl: SASLOptions | undefined, topic = uniqueName('dx-sasl'), extra: Partial<ConstructorParameters<typeof KafkaJobLog>[0]> = {}): KafkaJobLog {
  return new KafkaJobLog({ brokers: [BOOTSTRAP], cluster: topic, topic, env, ...(sasl === undefined ? {} : { sasl }), operationTimeoutMs: 20_000, ...extra })
}

async function createTopic(name: string, configEntries: Array<{ name: string; value: string }>): Promise<void> {
  const admin = new Kafka({ clientId: 'dx-test', brokers: [BOOTSTRAP], sasl: SCRAM, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: 1, replicationFactor: 1, configEntries }] })
  } finally {
    await admin.disconnect()
  }
}

test('the job log authenticates with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN; wrong or missing credentials are a typed error', { timeout: 180_000 }, async () => {
  const mechanisms: SASLOptions[] = [
    SCRAM,
    { mechanism: 'scram-sha-512', username: 'dx', password: SCRAM_PASSWORD },
    { mechanism: 'plain', username: 'dx-plain', password: 'dx-plain-secret' },
  ]
  for (const sasl of mechanisms) {
    const log = jobLog(sasl)
    try {
      await log.fence(1)
      const offset = await log.append(1, [new TextEncoder().encode(`via ${sasl.mechanism}`)])
      const records = await log.read(offset, 1)
      assert.equal(new TextDecoder().decode(records[0]!.payload), `via ${sasl.mechanism}`)
    } finally {
      await log.close()
    }
  }
  const wrongPassword = 'not-the-secret-4711'
  for (const sasl of [{ mechanism: 'scram-sha-256', username: 'dx', password: wrongPassword } as const, undefined]) {
    const log = jobLog(sasl, uniqueName('dx-sasl'), { connectionTimeoutMs: 2000 })
    await assert.rejects(log.append(1, [new TextEncoder().encode('x')]), (error: Error) => {
      assert.equal(error.name, 'JobLogUnavailableError')
      assert.ok(!error.message.includes(wrongPassword), error.message)
      if (sasl !== undefined) assert.match(error.message, /authentication failed/i)
      return true
    })
    await log.close()
  }
})

test('topics that could delete job records are refused; a new topic the cluster cannot replicate is refused; less redundancy is a warning', { timeout: 180_000 }, async () => {
  const unsafe: Array<[Array<{ name: string; value: string }>, RegExp]> = [
    [[{ name: 'cleanup.policy', value: 'compact' }], /cleanup\.policy=compact/],
    [[{ name: 'retention.ms', value: '3600000' }], /retention\.ms=3600000/],
    [
      [
        { name: 'retention.ms', value: '-1' },
        { name: 'retention.bytes', value: '1073741824' },
      ],
      /retention\.bytes=1073741824/,
    ],
    [
      [
        { name: 'retention.ms', value: '-1' },
        { name: 'unclean.leader.election.enable', value: 'true' },
      ],
      /unclean\.leader\.election\.enable=true/,
    ],
  ]
  for (const [configEntries, problem] of unsafe) {
    const topic = uniqueName('dx-unsafe')
    await createTopic(topic, configEntries)
    const log = jobLog(SCRAM, topic)
    await assert.rejects(log.prepare(), (error: Error) => {
      assert.equal(error.name, 'KafkaTopicConfigError', error.message)
      assert.match(error.message, problem)
      return true
    })
    await log.close()
  }
  const tooFew = jobLog(SCRAM, uniqueName('dx-rf3'), { replicationFactor: 3 })
  await assert.rejects(tooFew.prepare(), /replication factor 3: the Kafka cluster has 1 broker/)
  await tooFew.close()

  const weak = uniqueName('dx-weak')
  await createTopic(
    weak,
    Object.entries(KEEP_FOREVER).map(([name, value]) => ({ name, value })),
  )
  const logger = new MemoryLogger()
  const warned = new KafkaJobLog({
    brokers: [BOOTSTRAP],
    cluster: weak,
    topic: weak,
    env: { ...env, logger },
    sasl: SCRAM,
    topicConfig: { ...KEEP_FOREVER, 'min.insync.replicas': '2' },
  })
  await warned.prepare()
  await warned.close()
  assert.ok(
    logger.records.some((r) => r.level === 'warn' && r.message.includes('less redundancy')),
    JSON.stringify(logger.records),
  )
})

test('a CLI peer with SASL credentials in a file runs jobs and never shows the password; an unsafe topic stops it at start', { timeout: 240_000 }, async () => {
  const passwordFile = join(dir, 'kafka.password')
  await writeFile(passwordFile, `${SCRAM_PASSWORD}\n`, { mode: 0o600 })
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const sasl = [
    '--kafka-sasl',
    'scram-sha-256',
    '--kafka-username',
    'dx',
    '--kafka-password-file',
    passwordFile,
    '--kafka-replication-factor',
    '1',
    '--kafka-min-insync-replicas',
    '1',
    '--log-level',
    'debug',
  ]
  const peer = new Peer({
    name: 'sasl',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    jobLog: `kafka://${BOOTSTRAP}/${uniqueName('dx-sasl-peer')}`,
    extraArgs: sasl,
  })
  peers.push(peer)
  peer.start()
  await peer.address()
  const submitted = await waitFor(
    () => peer.call<{ id?: string }>('POST', '/jobs', { type: 'fib', input: { n: 10 } }),
    (r) => r.status === 202 || r.status === 200,
    60_000,
    'a submission',
  )
  const result = await peer.call<{ ok: boolean; value: unknown }>('GET', `/jobs/${submitted.json.id}/result?timeoutMs=30000`)
  assert.equal(result.json.ok, true, JSON.stringify(result.json))
  const status = JSON.stringify(await peer.status())
  assert.ok(!status.includes(SCRAM_PASSWORD), 'the password is not in /status')
  assert.ok(peer.output.length > 0)
  assert.ok(!peer.output.join('\n').includes(SCRAM_PASSWORD), 'the password is not in the logs')
  await peer.stop()

  const compacted = uniqueName('dx-compacted')
  await createTopic(compacted, [{ name: 'cleanup.policy', value: 'compact' }])
  const refused = new Peer({
    name: 'unsafe',
    dataDir: join(dir, 'p1'),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    jobLog: `kafka://${BOOTSTRAP}/${compacted}`,
    extraArgs: sasl,
  })
  peers.push(refused)
  refused.start()
  await waitFor(
    async () => refused.running,
    (running) => !running,
    60_000,
    'the peer on an unsafe topic to exit',
  )
  assert.notEqual(await refused.stop(), 0)
  assert.match(refused.output.join('\n'), /KafkaTopicConfigError: kafka topic dx-compacted-\S+: cleanup\.policy=compact/)
})

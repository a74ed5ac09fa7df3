/**
 * Real services for integration tests. `ensureKafka` returns the bootstrap address of the shared
 * test broker, starting it with test/kafka/broker.sh (fetching its jars on first use) when nothing
 * answers; the broker is left running for the rest of the suite, and broker.sh's lock makes
 * concurrent test files start at most one. `ensureRedis` checks the machine's Redis and starts it
 * if it is installed but down. `kafkaBroker` controls a broker of its own on another port, for
 * tests that stop and restart it.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { Kafka, logLevel } from 'kafkajs'
import { sourceDir } from './paths.js'

const run = promisify(execFile)
const BROKER_SH = join(sourceDir(import.meta.dirname), '..', 'kafka', 'broker.sh')
/** A cold start fetches about 45 MB of jars with Maven first. */
const BROKER_START_TIMEOUT_MS = 600_000

/** The shared broker's port: DX_KAFKA_PORT, or 19092. */
export const KAFKA_PORT = Number(process.env.DX_KAFKA_PORT ?? 19092)

/** The bootstrap address of a running, warmed-up test broker. */
export async function ensureKafka(port = KAFKA_PORT): Promise<string> {
  const bootstrap = `127.0.0.1:${port}`
  if (await kafkaAnswers(bootstrap)) return bootstrap
  return brokerScript('start', port)
}

/** A broker of its own on `port`, which a test may stop and start again on the same data. */
export function kafkaBroker(port: number): { bootstrap: string; start(options?: { keepData?: boolean }): Promise<string>; stop(): Promise<void> } {
  return {
    bootstrap: `127.0.0.1:${port}`,
    start: (options = {}) => brokerScript('start', port, options.keepData === true ? { DX_KAFKA_KEEP_DATA: '1' } : {}),
    stop: async () => {
      await brokerScript('stop', port)
    },
  }
}

async function brokerScript(command: 'start' | 'stop', port: number, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run('bash', [BROKER_SH, command], {
      env: { ...process.env, ...env, DX_KAFKA_PORT: String(port) },
      timeout: BROKER_START_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout.trim().split('\n').pop() ?? ''
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(`test/kafka/broker.sh ${command} failed on port ${port}:\n${stderr.slice(-4000)}`, { cause: error })
  }
}

async function kafkaAnswers(bootstrap: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'dx-test-probe',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  }).admin({ retry: { retries: 0 } })
  try {
    await admin.connect()
    await admin.describeCluster()
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/** Where the test Redis listens. */
export const REDIS = { host: '127.0.0.1', port: Number(process.env.DX_REDIS_PORT ?? 6379) }

/** Resolves once Redis answers PING at REDIS, starting the machine's redis-server if needed. */
export async function ensureRedis(): Promise<{ host: string; port: number }> {
  if (await redisAnswers()) return REDIS
  await run('redis-server', ['--daemonize', 'yes', '--bind', REDIS.host, '--port', String(REDIS.port), '--save', '', '--appendonly', 'no']).catch((error: unknown) => {
    throw new Error(`Redis is not answering at ${REDIS.host}:${REDIS.port} and redis-server could not be started`, { cause: error })
  })
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await redisAnswers()) return REDIS
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`redis-server started but does not answer at ${REDIS.host}:${REDIS.port}`)
}

async function redisAnswers(): Promise<boolean> {
  const client = new Redis({ ...REDIS, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

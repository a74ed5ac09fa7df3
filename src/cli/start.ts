/**
 * `distributex start`: runs one peer until SIGTERM or SIGINT, on which it leaves the cluster
 * gracefully and exits 0 (a second SIGINT exits at once with 130). `distributex secret --out <path>` writes a new cluster secret, `distributex token --out <path>` a
 * bearer token for the HTTP API.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { generateHttpToken } from '../adapters/http/token.js'
import { generateClusterSecret } from '../adapters/libp2p/index.js'
import { resolveConfig, type RawSettings } from '../node/config.js'
import { startNode } from '../node/start.js'
import { BUILTIN_JOBS } from './demo-jobs.js'
import { loadActorModule } from './load-jobs.js'
import type { AnyEntityDef } from '../entities/types.js'
import type { JobDef } from '../jobs/types.js'

const START_OPTIONS = {
  listen: { type: 'string' },
  bootstrap: { type: 'string' },
  'secret-file': { type: 'string' },
  http: { type: 'string' },
  'http-token-file': { type: 'string' },
  'http-host-names': { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'gossip-interval-ms': { type: 'string' },
  'lease-ms': { type: 'string' },
  voters: { type: 'string' },
  'voter-down-ms': { type: 'string' },
  'job-log': { type: 'string' },
  'retain-jobs': { type: 'string' },
  'retain-ms': { type: 'string' },
  placement: { type: 'string' },
  'alert-webhook': { type: 'string' },
  cache: { type: 'string' },
  actors: { type: 'string', multiple: true },
  config: { type: 'string' },
  'kafka-tls': { type: 'string' },
  'kafka-ca-file': { type: 'string' },
  'kafka-cert-file': { type: 'string' },
  'kafka-key-file': { type: 'string' },
  'kafka-sasl': { type: 'string' },
  'kafka-username': { type: 'string' },
  'kafka-password-file': { type: 'string' },
  'kafka-replication-factor': { type: 'string' },
  'kafka-min-insync-replicas': { type: 'string' },
  'redis-username': { type: 'string' },
  'redis-password-file': { type: 'string' },
  'redis-ca-file': { type: 'string' },
} as const

/** Service-credential flags, named as their settings in kebab case; passwords only as files. */
const SERVICE_FLAGS = {
  'kafka-tls': 'kafkaTls',
  'kafka-ca-file': 'kafkaCaFile',
  'kafka-cert-file': 'kafkaCertFile',
  'kafka-key-file': 'kafkaKeyFile',
  'kafka-sasl': 'kafkaSasl',
  'kafka-username': 'kafkaUsername',
  'kafka-password-file': 'kafkaPasswordFile',
  'kafka-replication-factor': 'kafkaReplicationFactor',
  'kafka-min-insync-replicas': 'kafkaMinInsyncReplicas',
  'redis-username': 'redisUsername',
  'redis-password-file': 'redisPasswordFile',
  'redis-ca-file': 'redisCaFile',
} as const satisfies Partial<Record<keyof typeof START_OPTIONS, keyof RawSettings>>

export async function runStart(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: START_OPTIONS })
  const flags: RawSettings = {
    ...(values.listen === undefined ? {} : { listen: values.listen }),
    ...(values.bootstrap === undefined ? {} : { bootstrap: values.bootstrap }),
    ...(values['secret-file'] === undefined ? {} : { secretFile: values['secret-file'] }),
    ...(values.http === undefined ? {} : { http: values.http }),
    ...(values['http-token-file'] === undefined ? {} : { httpTokenFile: values['http-token-file'] }),
    ...(values['http-host-names'] === undefined ? {} : { httpHostNames: values['http-host-names'] }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values['log-level'] === undefined ? {} : { logLevel: values['log-level'] }),
    ...(values['log-format'] === undefined ? {} : { logFormat: values['log-format'] }),
    ...(values['gossip-interval-ms'] === undefined ? {} : { gossipIntervalMs: values['gossip-interval-ms'] }),
    ...(values['lease-ms'] === undefined ? {} : { leaseMs: values['lease-ms'] }),
    ...(values.voters === undefined ? {} : { voters: values.voters }),
    ...(values['voter-down-ms'] === undefined ? {} : { voterDownMs: values['voter-down-ms'] }),
    ...(values['job-log'] === undefined ? {} : { jobLog: values['job-log'] }),
    ...(values.cache === undefined ? {} : { cache: values.cache }),
    ...(values['retain-jobs'] === undefined ? {} : { retainJobs: values['retain-jobs'] }),
    ...(values['retain-ms'] === undefined ? {} : { retainMs: values['retain-ms'] }),
    ...(values.actors === undefined ? {} : { actors: values.actors }),
    ...(values.placement === undefined ? {} : { placement: values.placement }),
    ...(values['alert-webhook'] === undefined ? {} : { alertWebhook: values['alert-webhook'] }),
  }
  for (const [flag, setting] of Object.entries(SERVICE_FLAGS) as Array<[keyof typeof SERVICE_FLAGS, (typeof SERVICE_FLAGS)[keyof typeof SERVICE_FLAGS]]>) {
    const value = values[flag]
    if (value !== undefined) flags[setting] = value
  }
  const config = resolveConfig(flags, process.env, values.config ?? process.env.DX_CONFIG)
  const jobs: JobDef[] = [...BUILTIN_JOBS]
  const entities: AnyEntityDef[] = []
  for (const module of config.actors) {
    const defs = await loadActorModule(module)
    jobs.push(...defs.jobs)
    entities.push(...defs.entities)
  }
  const node = await startNode(config, jobs, entities)
  process.stdout.write(`distributex node ${node.nodeId}\n${node.addresses.map((a) => `  listening ${a}`).join('\n')}\n${node.http === undefined ? '' : `  http ${node.http}\n`}`)
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      // A second Ctrl-C means the operator will not wait for the graceful leave.
      process.once('SIGINT', () => process.exit(130))
      process.on('SIGTERM', () => {})
      resolve()
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  process.stdout.write('leaving the cluster ...\n')
  await node.stop({ leave: true })
  return 0
}

/** `distributex token --out <path>`: a new bearer token for the HTTP API (32 random bytes, base64url, mode 0600). */
export async function runToken(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' } } })
  if (values.out === undefined) {
    process.stderr.write('usage: distributex token --out <path>\n')
    return 2
  }
  await writeNewSecretFile(values.out, `${generateHttpToken()}\n`, 'an HTTP token')
  process.stdout.write(`wrote a new HTTP API token to ${values.out}; start peers with --http-token-file ${values.out} and give it to the CLI the same way\n`)
  return 0
}

/** Writes a secret to a new file, mode 0600; refuses to overwrite one. */
async function writeNewSecretFile(path: string, bytes: Uint8Array | string, what: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, bytes, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw new Error(`${path} exists; refusing to overwrite ${what}`)
    throw error
  })
  await chmod(path, 0o600)
}

export async function runSecret(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' } } })
  if (values.out === undefined) {
    process.stderr.write('usage: distributex secret --out <path>\n')
    return 2
  }
  await writeNewSecretFile(values.out, generateClusterSecret(), 'a cluster secret')
  process.stdout.write(`wrote a new cluster secret to ${values.out}; give the same file to every peer\n`)
  return 0
}

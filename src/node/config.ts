/**
 * Node configuration from three sources, highest precedence first: command-line flags,
 * environment variables (DX_*), and a JSON config file (--config or DX_CONFIG). Every value is
 * checked here, so a bad setting stops the node at start with a ConfigError naming it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_MEMBERSHIP } from '../cluster/core.js'
import { DistributeXError } from '../errors.js'
import { DEFAULT_RETENTION } from '../jobs/scheduler-core.js'
import { DEFAULT_PLACEMENT, isPlacementName, PLACEMENT_NAMES, type PlacementName } from '../jobs/placement/index.js'

/** Thrown for an invalid or unreadable setting. */
export class ConfigError extends DistributeXError {
  override readonly name = 'ConfigError'
  override readonly code = 'ERR_CONFIG'
}

/** A host and port to bind. */
export interface HostPort {
  host: string
  port: number
}

/** Everything a node needs to start. */
export interface NodeConfig {
  /** libp2p listen multiaddrs. */
  listen: string[]
  /** Multiaddrs (with /p2p/<id>) of peers to join; empty to found a new cluster. */
  bootstrap: string[]
  /** The cluster secret (pre-shared key file); created in the data dir when absent. */
  secretFile: string
  /** Where the HTTP endpoint binds, or undefined for none. */
  http: HostPort | undefined
  /** File holding the HTTP API's bearer token; required when `http` binds beyond loopback. */
  httpTokenFile: string | undefined
  /** Host names the HTTP API answers to besides its bound address. */
  httpHostNames: string[]
  /** Identity, election state and embedded stores. */
  dataDir: string
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** JSON lines, readable lines, or readable on a terminal and JSON otherwise. */
  logFormat: 'json' | 'pretty' | 'auto'
  gossipIntervalMs: number | undefined
  leaseMs: number | undefined
  /** Voters the leader keeps (1, 3, 5 or 7); undefined: 3 below 5 members, 5 from then on. */
  voters: number | undefined
  /** A voter down this long is replaced by a live worker; undefined: the cluster default (30 s). */
  voterDownMs: number | undefined
  /** How workers' liveness and load travel: gossip (every member publishes to all) or swim (probes; src/cluster/core.ts). */
  membership: 'gossip' | 'swim'
  jobLog: JobLogSetting
  cache: CacheSetting
  /** Modules whose exported job definitions this node registers (besides the built-in ones). */
  actors: string[]
  /** How long finished jobs stay in the leader's memory: by count and by age. */
  retention: { maxFinished: number; maxAgeMs: number }
  /** Kafka's connection security and topic settings (used when the job log is on Kafka). */
  kafka: KafkaSettings
  /** Redis credentials and TLS (used when the cache is on Redis). */
  redis: RedisSettings
  /** The placement policy (src/jobs/placement/index.ts names them). */
  placement: PlacementName
  /** Whether idle peers take attempts still queued on overcommitted ones (work stealing). */
  steal: boolean
  /** How the leader orders ready jobs of equal priority (SchedulerCoreOptions.order). */
  jobOrder: 'fifo' | 'critical-path'
  /** Where alerts are posted as JSON, if anywhere. */
  alertWebhook: string | undefined
}

/** PEM contents read from the configured files; TLS with the system's CAs when all are absent. */
export interface TlsFiles {
  ca?: string
  cert?: string
  key?: string
}

/** SASL mechanisms Kafka offers that we support. */
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const

export interface KafkaSettings {
  /** TLS to the brokers, or undefined for plaintext. */
  tls: TlsFiles | undefined
  sasl: { mechanism: (typeof KAFKA_SASL_MECHANISMS)[number]; username: string; password: string } | undefined
  /** Replication factor of a topic the job log creates (3 by default: a 3-broker cluster). */
  replicationFactor: number
  /** `min.insync.replicas` of a created topic (2 by default); an existing topic with less is warned about. */
  minInsyncReplicas: number
}

export interface RedisSettings {
  /** TLS (`rediss://`), or undefined for plaintext. */
  tls: TlsFiles | undefined
  /** An ACL user; `default` when only a password is given. */
  username: string | undefined
  password: string | undefined
}

/**
 * Where the job log lives: a directory on this host shared by its peers, Kafka, or replicated among
 * the voters over the mesh (each node keeping its copy in its data directory).
 */
export type JobLogSetting = { kind: 'file'; dir: string } | { kind: 'kafka'; brokers: string[]; topic: string } | { kind: 'replicated' }

/** Where results are cached: in each node's memory, or Redis. */
export type CacheSetting = { kind: 'memory' } | { kind: 'redis'; host: string; port: number; prefix: string; tls?: true }

/** The raw settings as flags, environment and file provide them. */
export interface RawSettings {
  listen?: string | string[]
  bootstrap?: string | string[]
  secretFile?: string
  http?: string
  httpTokenFile?: string
  httpHostNames?: string | string[]
  dataDir?: string
  logLevel?: string
  logFormat?: string
  gossipIntervalMs?: string | number
  leaseMs?: string | number
  voters?: string | number
  voterDownMs?: string | number
  membership?: string
  jobLog?: string
  cache?: string
  actors?: string | string[]
  retainJobs?: string | number
  retainMs?: string | number
  kafkaTls?: string
  kafkaCaFile?: string
  kafkaCertFile?: string
  kafkaKeyFile?: string
  kafkaSasl?: string
  kafkaUsername?: string
  kafkaPasswordFile?: string
  kafkaReplicationFactor?: string | number
  kafkaMinInsyncReplicas?: string | number
  redisUsername?: string
  redisPasswordFile?: string
  redisCaFile?: string
  placement?: string
  steal?: string
  jobOrder?: string
  alertWebhook?: string
}

const ENV: Record<keyof RawSettings, string> = {
  listen: 'DX_LISTEN',
  bootstrap: 'DX_BOOTSTRAP',
  secretFile: 'DX_SECRET_FILE',
  http: 'DX_HTTP',
  httpTokenFile: 'DX_HTTP_TOKEN_FILE',
  httpHostNames: 'DX_HTTP_HOST_NAMES',
  dataDir: 'DX_DATA_DIR',
  logLevel: 'DX_LOG_LEVEL',
  logFormat: 'DX_LOG_FORMAT',
  gossipIntervalMs: 'DX_GOSSIP_INTERVAL_MS',
  leaseMs: 'DX_LEASE_MS',
  voters: 'DX_VOTERS',
  voterDownMs: 'DX_VOTER_DOWN_MS',
  membership: 'DX_MEMBERSHIP',
  jobLog: 'DX_JOB_LOG',
  cache: 'DX_CACHE',
  actors: 'DX_ACTORS',
  retainJobs: 'DX_RETAIN_JOBS',
  retainMs: 'DX_RETAIN_MS',
  kafkaTls: 'DX_KAFKA_TLS',
  kafkaCaFile: 'DX_KAFKA_CA_FILE',
  kafkaCertFile: 'DX_KAFKA_CERT_FILE',
  kafkaKeyFile: 'DX_KAFKA_KEY_FILE',
  kafkaSasl: 'DX_KAFKA_SASL',
  kafkaUsername: 'DX_KAFKA_USERNAME',
  kafkaPasswordFile: 'DX_KAFKA_PASSWORD_FILE',
  kafkaReplicationFactor: 'DX_KAFKA_REPLICATION_FACTOR',
  kafkaMinInsyncReplicas: 'DX_KAFKA_MIN_INSYNC_REPLICAS',
  redisUsername: 'DX_REDIS_USERNAME',
  redisPasswordFile: 'DX_REDIS_PASSWORD_FILE',
  redisCaFile: 'DX_REDIS_CA_FILE',
  placement: 'DX_PLACEMENT',
  steal: 'DX_STEAL',
  jobOrder: 'DX_JOB_ORDER',
  alertWebhook: 'DX_ALERT_WEBHOOK',
}

/** Secrets that may also come straight from the environment (never from flags or the config file). */
const SECRET_ENV = { kafkaPassword: 'DX_KAFKA_PASSWORD', redisPassword: 'DX_REDIS_PASSWORD' } as const

/** Default listen address: every interface, port 7400. */
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/7400'
/** Default HTTP endpoint: loopback only. */
export const DEFAULT_HTTP = '127.0.0.1:7401'
/** Default job log: replicated among the voters, each node keeping its copy in its data directory. */
export const DEFAULT_JOB_LOG = 'replicated'
/** Default retention of finished jobs in the leader's memory (see DEFAULT_RETENTION for why). */
export const DEFAULT_RETAIN_JOBS = DEFAULT_RETENTION.maxFinished
export const DEFAULT_RETAIN_MS = DEFAULT_RETENTION.maxAgeMs

/** Merges flags over environment over file over defaults, and validates the result. */
export function resolveConfig(flags: RawSettings, env: Record<string, string | undefined>, configFile?: string): NodeConfig {
  const file = configFile === undefined ? {} : readConfigFile(configFile)
  const fromEnv: RawSettings = {}
  for (const [key, name] of Object.entries(ENV) as Array<[keyof RawSettings, string]>) {
    const value = env[name]
    if (value !== undefined && value !== '') fromEnv[key] = value
  }
  const pick = <K extends keyof RawSettings>(key: K): RawSettings[K] => flags[key] ?? fromEnv[key] ?? file[key]
  const listen = list(pick('listen') ?? DEFAULT_LISTEN)
  if (listen.length === 0) throw new ConfigError('listen: at least one multiaddr is required')
  for (const addr of listen) multiaddr(addr, 'listen')
  const bootstrap = list(pick('bootstrap') ?? [])
  for (const addr of bootstrap) {
    multiaddr(addr, 'bootstrap')
    if (!addr.includes('/p2p/')) throw new ConfigError(`bootstrap: ${addr} must end with /p2p/<peer id>`)
  }
  const dataDir = pick('dataDir') ?? join('.distributex', portOf(listen[0]!))
  const httpText = pick('http') ?? DEFAULT_HTTP
  const http = httpText === 'off' ? undefined : hostPort(httpText)
  const httpTokenFile = pick('httpTokenFile')
  if (http !== undefined && httpTokenFile === undefined && !isLoopback(http.host)) {
    throw new ConfigError(
      `http: ${httpText} is reachable beyond this host, so the API needs a token: create one with \`distributex token --out <file>\` and pass --http-token-file <file>`,
    )
  }
  const placement = pick('placement') ?? DEFAULT_PLACEMENT
  if (!isPlacementName(placement)) throw new ConfigError(`placement: ${placement} is not one of ${PLACEMENT_NAMES.join(', ')}`)
  const membership = pick('membership') ?? DEFAULT_MEMBERSHIP
  if (membership !== 'gossip' && membership !== 'swim') throw new ConfigError(`membership: ${membership} is not gossip or swim`)
  const steal = pick('steal') ?? 'on'
  if (steal !== 'on' && steal !== 'off') throw new ConfigError(`steal: ${steal} is not on or off`)
  const jobOrder = pick('jobOrder') ?? 'fifo'
  if (jobOrder !== 'fifo' && jobOrder !== 'critical-path') throw new ConfigError(`jobOrder: ${jobOrder} is not fifo or critical-path`)
  const alertWebhook = pick('alertWebhook')
  if (alertWebhook !== undefined && !/^https?:\/\/[^\s]+$/.test(alertWebhook)) throw new ConfigError(`alertWebhook: ${alertWebhook} is not an http:// or https:// URL`)
  const logLevel = pick('logLevel') ?? 'info'
  const cacheText = pick('cache') ?? 'memory'
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`logLevel: ${logLevel} is not one of debug, info, warn, error`)
  const logFormat = pick('logFormat') ?? 'auto'
  if (!['json', 'pretty', 'auto'].includes(logFormat)) throw new ConfigError(`logFormat: ${logFormat} is not one of json, pretty, auto`)
  return {
    listen,
    bootstrap,
    secretFile: pick('secretFile') ?? join(dataDir, 'cluster.key'),
    http,
    httpTokenFile,
    httpHostNames: list(pick('httpHostNames') ?? []),
    dataDir,
    logLevel: logLevel as NodeConfig['logLevel'],
    logFormat: logFormat as NodeConfig['logFormat'],
    gossipIntervalMs: optionalMs(pick('gossipIntervalMs'), 'gossipIntervalMs'),
    leaseMs: optionalMs(pick('leaseMs'), 'leaseMs'),
    voters: voterCount(pick('voters')),
    voterDownMs: optionalMs(pick('voterDownMs'), 'voterDownMs'),
    membership,
    jobLog: jobLogSetting(pick('jobLog') ?? DEFAULT_JOB_LOG),
    cache: cacheSetting(cacheText),
    actors: list(pick('actors') ?? []),
    retention: { maxFinished: count(pick('retainJobs') ?? DEFAULT_RETAIN_JOBS, 'retainJobs'), maxAgeMs: optionalMs(pick('retainMs'), 'retainMs') ?? DEFAULT_RETAIN_MS },
    kafka: kafkaSettings(pick, env),
    redis: redisSettings(pick, env, cacheText),
    placement,
    steal: steal === 'on',
    jobOrder,
    alertWebhook,
  }
}

type Pick = <K extends keyof RawSettings>(key: K) => RawSettings[K]

function kafkaSettings(pick: Pick, env: Record<string, string | undefined>): KafkaSettings {
  const tlsFlag = pick('kafkaTls')
  if (tlsFlag !== undefined && !['on', 'off'].includes(tlsFlag)) throw new ConfigError(`kafkaTls: ${tlsFlag} is neither on nor off`)
  const files = tlsFiles({ ca: pick('kafkaCaFile'), cert: pick('kafkaCertFile'), key: pick('kafkaKeyFile') }, 'kafka')
  if (tlsFlag === 'off' && files !== undefined) throw new ConfigError('kafkaTls: off, yet CA or client certificate files are given')
  const tls = files ?? (tlsFlag === 'on' ? {} : undefined)
  const mechanism = pick('kafkaSasl')
  let sasl: KafkaSettings['sasl']
  if (mechanism !== undefined) {
    if (!(KAFKA_SASL_MECHANISMS as readonly string[]).includes(mechanism)) throw new ConfigError(`kafkaSasl: ${mechanism} is not one of ${KAFKA_SASL_MECHANISMS.join(', ')}`)
    const username = pick('kafkaUsername')
    if (username === undefined || username === '') throw new ConfigError(`kafkaSasl: ${mechanism} needs kafkaUsername`)
    const password = secret(pick('kafkaPasswordFile'), env[SECRET_ENV.kafkaPassword], 'kafka')
    if (password === undefined) throw new ConfigError(`kafkaSasl: ${mechanism} needs a password: kafkaPasswordFile (or ${SECRET_ENV.kafkaPassword})`)
    sasl = { mechanism: mechanism as (typeof KAFKA_SASL_MECHANISMS)[number], username, password }
  } else if (pick('kafkaUsername') !== undefined || pick('kafkaPasswordFile') !== undefined) {
    throw new ConfigError('kafkaUsername and kafkaPasswordFile need kafkaSasl (plain, scram-sha-256 or scram-sha-512)')
  }
  const replicationFactor = positive(pick('kafkaReplicationFactor') ?? 3, 'kafkaReplicationFactor')
  const minInsyncReplicas = positive(pick('kafkaMinInsyncReplicas') ?? Math.min(2, replicationFactor), 'kafkaMinInsyncReplicas')
  if (minInsyncReplicas > replicationFactor)
    throw new ConfigError(`kafkaMinInsyncReplicas: ${minInsyncReplicas} is above kafkaReplicationFactor ${replicationFactor}; no write could succeed`)
  return { tls, sasl, replicationFactor, minInsyncReplicas }
}

function redisSettings(pick: Pick, env: Record<string, string | undefined>, cacheText: string): RedisSettings {
  const files = tlsFiles({ ca: pick('redisCaFile') }, 'redis')
  const tls = cacheText.startsWith('rediss://') ? (files ?? {}) : undefined
  if (tls === undefined && files !== undefined) throw new ConfigError('redisCaFile is given but the cache is not rediss://host:port (TLS)')
  const username = pick('redisUsername')
  const password = secret(pick('redisPasswordFile'), env[SECRET_ENV.redisPassword], 'redis')
  if (username !== undefined && password === undefined) throw new ConfigError(`redisUsername needs a password: redisPasswordFile (or ${SECRET_ENV.redisPassword})`)
  return { tls, username, password }
}

/** Reads the TLS files given; undefined when none is. */
function tlsFiles(paths: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }, what: string): TlsFiles | undefined {
  const files: TlsFiles = {}
  for (const [name, path] of Object.entries(paths) as Array<[keyof TlsFiles, string | undefined]>) if (path !== undefined) files[name] = readSecretFile(path, `${what} TLS ${name}`)
  if ((files.cert === undefined) !== (files.key === undefined)) throw new ConfigError(`${what} TLS: a client certificate needs its key and the other way round`)
  return Object.keys(files).length === 0 ? undefined : files
}

/** A password from its file (first line), else from the environment. */
function secret(file: string | undefined, fromEnv: string | undefined, what: string): string | undefined {
  if (file !== undefined) {
    const value = readSecretFile(file, `${what} password`).split('\n')[0]!.trim()
    if (value === '') throw new ConfigError(`the ${what} password file ${file} is empty`)
    return value
  }
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} file ${path}: ${(error as Error).message}`)
  }
}

function positive(value: string | number, what: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${what}: ${value} is not a whole number of at least 1`)
  return n
}

/** Parses `file:<dir>`, `kafka://host:port[,host:port...]/<topic>` or `replicated`. */
export function jobLogSetting(text: string): JobLogSetting {
  if (text === 'replicated') return { kind: 'replicated' }
  if (text.startsWith('file:')) {
    const dir = text.slice(5)
    if (dir === '') throw new ConfigError('jobLog: file: needs a directory, e.g. file:/var/lib/distributex/joblog')
    return { kind: 'file', dir }
  }
  const kafka = /^kafka:\/\/([^/]+)\/([A-Za-z0-9._-]{1,249})$/.exec(text)
  if (kafka !== null) {
    if (kafka[1]!.includes('@')) throw new ConfigError('jobLog: put Kafka credentials in kafkaSasl, kafkaUsername and kafkaPasswordFile (or DX_KAFKA_PASSWORD), not in the URL')
    const brokers = kafka[1]!.split(',')
    for (const b of brokers) hostPort(b)
    return { kind: 'kafka', brokers, topic: kafka[2]! }
  }
  throw new ConfigError(`jobLog: ${text} is none of file:<dir>, kafka://host:port/<topic>, replicated`)
}

/** Parses `memory` or `redis://host:port[/prefix]` (`rediss://` for TLS). */
export function cacheSetting(text: string): CacheSetting {
  if (text === 'memory') return { kind: 'memory' }
  const redis = /^(rediss?):\/\/([^/]+)(?:\/([A-Za-z0-9:._-]{1,128}))?$/.exec(text)
  if (redis !== null) {
    // Credentials in the URL would sit in the process list and in shell history.
    if (redis[2]!.includes('@')) throw new ConfigError('cache: put Redis credentials in redisUsername and redisPasswordFile (or DX_REDIS_PASSWORD), not in the URL')
    const { host, port } = hostPort(redis[2]!)
    return { kind: 'redis', host, port, prefix: redis[3] ?? 'dx', ...(redis[1] === 'rediss' ? { tls: true as const } : {}) }
  }
  throw new ConfigError('cache: the value is neither memory nor redis[s]://host:port[/prefix]')
}

function readConfigFile(path: string): RawSettings {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${(error as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${path}: expected a JSON object`)
  const unknown = Object.keys(parsed).filter((k) => !(k in ENV))
  if (unknown.length > 0) throw new ConfigError(`config file ${path}: unknown settings ${unknown.join(', ')}; known: ${Object.keys(ENV).join(', ')}`)
  for (const [key, value] of Object.entries(parsed) as Array<[keyof RawSettings, unknown]>) {
    const kind = KINDS[key]
    const ok =
      typeof value === 'string' || (kind === 'number' && typeof value === 'number') || (kind === 'list' && Array.isArray(value) && value.every((v) => typeof v === 'string'))
    if (!ok)
      throw new ConfigError(
        `config file ${path}: ${key} must be ${kind === 'number' ? 'a number or a string' : kind === 'list' ? 'a string or a list of strings' : 'a string'}, not ${JSON.stringify(value)}`,
      )
  }
  return parsed as RawSettings
}

/** What a config file may give for each setting, besides a string. */
const KINDS: Record<keyof RawSettings, 'text' | 'number' | 'list'> = {
  listen: 'list',
  bootstrap: 'list',
  secretFile: 'text',
  http: 'text',
  httpTokenFile: 'text',
  httpHostNames: 'list',
  dataDir: 'text',
  logLevel: 'text',
  logFormat: 'text',
  gossipIntervalMs: 'number',
  leaseMs: 'number',
  voters: 'number',
  voterDownMs: 'number',
  membership: 'text',
  retainJobs: 'number',
  retainMs: 'number',
  placement: 'text',
  steal: 'text',
  jobOrder: 'text',
  alertWebhook: 'text',
  jobLog: 'text',
  cache: 'text',
  actors: 'list',
  kafkaTls: 'text',
  kafkaCaFile: 'text',
  kafkaCertFile: 'text',
  kafkaKeyFile: 'text',
  kafkaSasl: 'text',
  kafkaUsername: 'text',
  kafkaPasswordFile: 'text',
  kafkaReplicationFactor: 'number',
  kafkaMinInsyncReplicas: 'number',
  redisUsername: 'text',
  redisPasswordFile: 'text',
  redisCaFile: 'text',
}

/** Reads a token file (its first line); a missing or empty file is a ConfigError. */
export function readToken(file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read the HTTP token ${file}: ${(error as Error).message}`)
  }
  const token = text.split('\n')[0]!.trim()
  if (token === '') throw new ConfigError(`the HTTP token file ${file} is empty`)
  return token
}

/** True for addresses only this host can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function list(value: string | string[]): string[] {
  const items = Array.isArray(value) ? value : value.split(',')
  return items.map((s) => s.trim()).filter((s) => s !== '')
}

function multiaddr(text: string, what: string): void {
  if (!/^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d+(\/p2p\/[A-Za-z0-9]+)?$/.test(text)) throw new ConfigError(`${what}: ${text} is not a TCP multiaddr like /ip4/10.0.0.5/tcp/7400`)
}

function portOf(addr: string): string {
  return /\/tcp\/(\d+)/.exec(addr)?.[1] ?? 'node'
}

/** Parses `host:port` (IPv6 hosts in brackets). */
export function hostPort(text: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(match?.[3])
  if (match === null || port > 65535) throw new ConfigError(`${text} is not host:port`)
  return { host: match[1] ?? match[2]!, port }
}

/** An odd voter count of 1 to 7: even counts add a voter without adding fault tolerance. */
function voterCount(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (![1, 3, 5, 7].includes(n)) throw new ConfigError(`voters: ${value} is not one of 1, 3, 5, 7`)
  return n
}

function count(value: string | number, what: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`${what}: ${value} is not a whole number`)
  return n
}

function optionalMs(value: string | number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${what}: ${value} is not a positive number of milliseconds`)
  return n
}

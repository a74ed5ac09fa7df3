/**
 * Fuzz targets over every decoder and entry point that takes outside input: the actor envelope,
 * cluster gossip records and persisted election state, job-log records and snapshots (as replay
 * decodes them), replication frames, node configuration (flags, environment and config files), and
 * the HTTP API (method, path, query, headers and body, against a real node's server).
 *
 * Replay is fuzzed over logs with damaged records: it skips and counts what it cannot decode and
 * keeps every job whose submission record is intact.
 *
 * The contract checked: any input either decodes to a value that encodes again, or is refused
 * with a typed error (a DistributeXError; for HTTP, a 4xx/5xx answer whose JSON names an error code
 * other than ERR_INTERNAL). Anything else, a TypeError, RangeError or a crash, is a finding.
 *
 * Inputs mix four generators: random bytes, msgpack of random values, valid encodings with bytes
 * flipped, inserted, cut or truncated, and valid messages with one field replaced by a random value
 * (so a decoder's checks are reached past the msgpack layer). Runs are seeded: a finding reports
 * its seed and the shrunk input.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request, Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { decodeRecord, decodeState, encodeRecord, encodeState } from '../../protocols/cluster/codec.js'
import { EnvelopeCodec, type Envelope } from '../../protocols/envelope/index.js'
import { decodeJobRecord, decodeSnapshotState, encodeJobRecord, encodeSnapshotState, type JobRecord } from '../../protocols/jobs/codec.js'
import { decodeReplication, encodeReplication, type ReplicationMessage } from '../../protocols/replication/codec.js'
import { appendOffset } from '../../protocols/replication/offsets.js'
import { emptyMetrics, type MemberRecord } from '../../src/cluster/types.js'
import { DistributeXError } from '../../src/errors.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { resolveConfig, type RawSettings } from '../../src/node/config.js'
import { SeededRandom } from '../../src/env/prng.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { replayJobLog } from '../../src/jobs/replay.js'
import { SchedulerCore } from '../../src/jobs/scheduler-core.js'
import type { JobLog, LogRecord } from '../../src/storage/types.js'

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

/** One fuzz target: a name and a property over its inputs. */
export interface FuzzTarget {
  readonly name: string
  /** Share of the total case count. */
  readonly weight: number
  /** Runs `cases` cases from `seed`; throws (with fast-check's report) on a finding. */
  run(cases: number, seed: number): Promise<void>
}

/** Thrown input that broke the contract; fast-check shrinks the input and reports it. */
function untyped(error: unknown): never {
  throw new Error(`untyped error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error })
}

/** Decodes `bytes`; a decoded value must encode again, anything refused must be a typed error. */
function checkDecoder<T>(decode: (bytes: Uint8Array) => T, encode: (value: T) => Uint8Array, bytes: Uint8Array): void {
  let value: T
  try {
    value = decode(bytes)
  } catch (error) {
    if (error instanceof DistributeXError) return
    untyped(error)
  }
  try {
    encode(value)
  } catch (error) {
    throw new Error(`decoded a value that does not encode again: ${(error as Error).message}`, { cause: error })
  }
}

/** Random values msgpack can carry, hostile shapes included. */
const anyValue = fc.anything({
  maxDepth: 3,
  maxKeys: 5,
  withBigInt: true,
  withTypedArray: true,
  withDate: true,
  withNullPrototype: true,
  withObjectString: false,
  withBoxedValues: false,
  withMap: false,
  withSet: false,
  withSparseArray: true,
})

/** JSON text of a fuzzed value (bigints as numbers: JSON has no other form for them). */
function json(value: unknown): string {
  return JSON.stringify(value, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? ''
}

function packOrEmpty(value: unknown): Uint8Array {
  try {
    return packr.pack(value)
  } catch {
    return new Uint8Array(0)
  }
}

/** A copy of `array` with the element at `path` replaced by `value` (or removed, or one appended). */
function mutateShape(tree: unknown, choices: number[], value: unknown): unknown {
  if (!Array.isArray(tree) || tree.length === 0) return value
  const copy = [...(tree as unknown[])]
  const [pick = 0, ...rest] = choices
  const i = pick % (copy.length + 2)
  if (i === copy.length) copy.push(value)
  else if (i === copy.length + 1) copy.splice(pick % copy.length, 1)
  else copy[i] = rest.length > 0 && Array.isArray(copy[i]) && pick % 3 !== 0 ? mutateShape(copy[i], rest, value) : value
  return copy
}

/** Byte-level mutations of one valid encoding. */
function mutateBytes(valid: Uint8Array, edits: Array<{ at: number; op: number; byte: number }>): Uint8Array {
  let bytes = [...valid]
  for (const { at, op, byte } of edits) {
    const i = bytes.length === 0 ? 0 : at % bytes.length
    if (op === 0) bytes[i] = byte
    else if (op === 1) bytes.splice(i, 0, byte)
    else if (op === 2) bytes.splice(i, 1)
    else bytes = bytes.slice(0, i)
  }
  return Uint8Array.from(bytes)
}

/** Inputs for a decoder whose valid encodings are `valid`. */
export function decoderInputs(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const trees = valid.map((v) => packr.unpack(v) as unknown)
  const edit = fc.record({ at: fc.nat(), op: fc.nat({ max: 3 }), byte: fc.nat({ max: 255 }) })
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    anyValue.map(packOrEmpty),
    fc.tuple(fc.nat({ max: valid.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([i, edits]) => mutateBytes(valid[i]!, edits)),
    fc
      .tuple(fc.nat({ max: trees.length - 1 }), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), anyValue)
      .map(([i, choices, value]) => packOrEmpty(mutateShape(trees[i], choices, value))),
  )
}

function decoderTarget<T>(name: string, weight: number, decode: (bytes: Uint8Array) => T, encode: (value: T) => Uint8Array, samples: readonly T[]): FuzzTarget {
  const valid = samples.map(encode)
  for (const v of valid) decode(v)
  const inputs = decoderInputs(valid)
  return {
    name,
    weight,
    run: async (cases, seed) =>
      fc.assert(
        fc.property(inputs, (bytes) => checkDecoder(decode, encode, bytes)),
        { numRuns: cases, seed },
      ),
  }
}

const MEMBER: MemberRecord = {
  node: 'n1',
  incarnation: 3,
  seq: 17,
  status: 'up',
  addresses: ['/ip4/127.0.0.1/tcp/7400'],
  metrics: { ...emptyMetrics(), capacity: 4, types: ['echo'], durations: { echo: { count: 2, p50Ms: 1.5, p90Ms: 3 } } },
  epoch: 5,
  vote: 'n0',
  preVote: null,
  grant: { candidate: 'n0', epoch: 5 },
  leaderSeq: null,
  support: { leader: 'n0', epoch: 5, seq: 99 },
  log: { epoch: 4, index: 1234 },
  clusterId: '0123456789abcdef0123456789abcdef',
  config: { epoch: 5, counter: 2, members: ['n0', 'n1', 'n2'], workers: ['n3'] },
}

const OPTIONS = resolveJobOptions({ priority: 3, timeoutMs: 5000, retries: 2, idempotencyKey: 'key-1', dependsOn: ['j0'] })
const JOB_RECORDS: JobRecord[] = [
  { kind: 'submitted', spec: { id: 'j1', type: 'thumbnail', input: { url: 'https://example.com/a.png', width: 64 }, options: OPTIONS, submittedAt: 1_700_000_000_000 } },
  { kind: 'finished', id: 'j1', attempt: 1, outcome: { ok: true, value: { bytes: 1234 } }, at: 1_700_000_000_500 },
  { kind: 'finished', id: 'j2', attempt: 3, outcome: { ok: false, error: { name: 'Error', code: 'ERR_X', message: 'boom' }, permanent: true } },
  { kind: 'cancelled', id: 'j3', at: 5 },
  { kind: 'snapshot', id: 's1', part: 0, parts: 1, after: 41, data: Uint8Array.from([1, 2, 3]) },
]

const ENVELOPES: Envelope[] = [
  { kind: 'tell', to: { node: 'n1', path: '/system/scheduler' }, body: { type: 'submit', jobs: [{ id: 'j1' }] } },
  { kind: 'ask', to: { node: 'n2', path: '/user/worker/3' }, body: [1, 'two', null, true], id: 42, timeoutMs: 5000 },
  { kind: 'reply', id: 42, body: { ok: true, value: Uint8Array.from([9, 9]) } },
  { kind: 'failure', id: 43, error: { name: 'AskTimeoutError', code: 'ERR_ASK_TIMEOUT', message: 'too slow' } },
]

const REPLICATION: ReplicationMessage[] = [
  {
    kind: 'append',
    epoch: 7,
    leaderCommit: 10,
    prevIndex: 9,
    prevEpoch: 6,
    entries: [
      { index: 10, epoch: 6, offset: appendOffset(10), payloads: [Uint8Array.from([1])] },
      { index: 11, epoch: 7, offset: appendOffset(11), payloads: [Uint8Array.from([2]), Uint8Array.from([3])] },
    ],
    compactBelow: 4,
  },
  { kind: 'reply', epoch: 7, ok: false, end: 8, hint: 3 },
  { kind: 'reset', epoch: 7, leaderCommit: 20, start: 15, prevEpoch: 6 },
]

/** Settings a fuzzed configuration draws from: every key, with plausible and hostile values. */
const SETTING_KEYS = [
  'listen',
  'bootstrap',
  'secretFile',
  'http',
  'httpTokenFile',
  'httpHostNames',
  'dataDir',
  'logLevel',
  'gossipIntervalMs',
  'leaseMs',
  'voters',
  'voterDownMs',
  'jobLog',
  'cache',
  'actors',
  'retainJobs',
  'retainMs',
  'kafkaTls',
  'kafkaCaFile',
  'kafkaCertFile',
  'kafkaKeyFile',
  'kafkaSasl',
  'kafkaUsername',
  'kafkaPasswordFile',
  'kafkaReplicationFactor',
  'kafkaMinInsyncReplicas',
  'redisUsername',
  'redisPasswordFile',
  'redisCaFile',
] as const
const settingText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '/ip4/127.0.0.1/tcp/7400',
    '/ip4/10.0.0.1/tcp/7400/p2p/12D3KooW',
    '127.0.0.1:7401',
    '0.0.0.0:7401',
    '[::1]:7401',
    'off',
    'kafka://k:9092/t',
    'kafka://a@k:9092/t',
    'redis://r:6379/p',
    'rediss://r:1/x',
    'file:/tmp/x',
    'replicated',
    'on',
    'plain',
    'scram-sha-256',
    '3',
    '0',
    '-1',
    '1e309',
    'NaN',
    '2147483648',
    '/etc/hostname',
    '/nonexistent',
  ),
)
const settingValue = fc.oneof(settingText, fc.array(settingText, { maxLength: 3 }), fc.double(), fc.integer(), anyValue)
const settings = fc.dictionary(fc.constantFrom(...SETTING_KEYS), settingValue, { maxKeys: 6 })

/** Flags and environment arrive as strings (parseArgs, process.env); the config file may hold anything. */
const flagSettings = fc
  .tuple(fc.dictionary(fc.constantFrom(...SETTING_KEYS), settingText, { maxKeys: 6 }), fc.option(fc.array(settingText, { maxLength: 3 }), { nil: undefined }))
  .map(([flags, actors]) => (actors === undefined ? flags : { ...flags, actors }))

function configTarget(weight: number): FuzzTarget {
  return {
    name: 'config (flags, environment, file)',
    weight,
    run: async (cases, seed) => {
      const dir = mkdtempSync(join(tmpdir(), 'dx-fuzz-config-'))
      const file = join(dir, 'settings.json')
      try {
        fc.assert(
          fc.property(
            flagSettings,
            settings,
            fc.dictionary(fc.constantFrom(...SETTING_KEYS), settingText, { maxKeys: 4 }),
            fc.oneof(anyValue, settings),
            (flags, fileSettings, env, raw) => {
              const envVars = Object.fromEntries(Object.entries(env).map(([k, v]) => [`DX_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, v]))
              const text = typeof raw === 'string' ? raw : json(raw === undefined ? fileSettings : raw) || 'null'
              writeFileSync(file, text)
              for (const attempt of [() => resolveConfig(flags as RawSettings, envVars), () => resolveConfig({}, envVars, file)]) {
                try {
                  attempt()
                } catch (error) {
                  if (!(error instanceof DistributeXError)) untyped(error)
                }
              }
            },
          ),
          { numRuns: cases, seed },
        )
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

/** A read-only job log over `payloads` at offsets 0.., as replay reads it. */
function logOf(payloads: readonly Uint8Array[]): JobLog {
  const refuse = async (): Promise<never> => {
    throw new Error('read-only')
  }
  return {
    fence: refuse,
    append: refuse,
    compact: refuse,
    startOffset: async () => 0,
    endOffset: async () => payloads.length,
    read: async (offset, max): Promise<LogRecord[]> => payloads.slice(offset, offset + max).map((payload, i) => ({ offset: offset + i, epoch: 1, payload })),
  }
}

/**
 * Replay of a job log with some records damaged (mutated, replaced, or random bytes): it never
 * throws, counts every record it cannot decode as skipped, and still knows every job whose
 * submission record is intact.
 */
function replayTarget(weight: number): FuzzTarget {
  const valid = [
    ...['r1', 'r2', 'r3', 'r4'].map((id) => encodeJobRecord({ kind: 'submitted', spec: { id, type: 'fib', input: { n: 3 }, options: resolveJobOptions({}), submittedAt: 1 } })),
    encodeJobRecord({ kind: 'finished', id: 'r1', attempt: 1, outcome: { ok: true, value: { n: 3 } }, at: 2 }),
    encodeJobRecord({ kind: 'cancelled', id: 'r2', at: 3 }),
  ]
  const damage = fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), decoderInputs(valid)), { minLength: 1, maxLength: 3 })
  return {
    name: 'job-log replay with damaged records',
    weight,
    run: async (cases, seed) =>
      fc.assert(
        fc.asyncProperty(damage, async (edits) => {
          const payloads = [...valid]
          for (const [at, bytes] of edits) payloads[at] = bytes
          let replay
          try {
            replay = await replayJobLog(
              logOf(payloads),
              () => new SchedulerCore(0, new LeastLoadedPlacement(), new SeededRandom(1), { retention: { maxFinished: 1000, maxAgeMs: Infinity } }),
            )
          } catch (error) {
            untyped(error)
          }
          const undecodable = payloads.filter((p) => {
            try {
              decodeJobRecord(p)
              return false
            } catch {
              return true
            }
          }).length
          if (replay.skipped < undecodable) throw new Error(`replay skipped ${replay.skipped} records, ${undecodable} do not decode`)
          for (let i = 0; i < 4; i++)
            if (payloads[i] === valid[i] && replay.core.inspect(`r${i + 1}`) === undefined) throw new Error(`job r${i + 1}, intact in the log, is unknown after replay`)
        }),
        { numRuns: cases, seed },
      ),
  }
}

/** Every codec target; `http` is added by the caller, which owns the node it needs. */
export function codecTargets(): FuzzTarget[] {
  const envelopes = new EnvelopeCodec({ maxBytes: 64 * 1024 })
  return [
    decoderTarget(
      'actor envelope',
      20,
      (b) => envelopes.decode(b),
      (e) => envelopes.encode(e),
      ENVELOPES,
    ),
    decoderTarget('cluster gossip record', 15, decodeRecord, encodeRecord, [
      MEMBER,
      { ...MEMBER, log: null, clusterId: null, config: { epoch: 5, counter: 2 } as MemberRecord['config'] },
      { ...MEMBER, leaderSeq: 40, leaseMs: 2400, voters: [{ node: 'n0', addresses: ['/ip4/127.0.0.1/tcp/7401'] }] },
    ]),
    decoderTarget('cluster persisted state', 10, decodeState, encodeState, [
      { incarnation: 2, epoch: 7, vote: 'n2', config: { epoch: 7, counter: 1, members: ['n0', 'n2'], workers: ['n1'] }, clusterId: 'c1' },
    ]),
    decoderTarget('job-log record', 20, decodeJobRecord, encodeJobRecord, JOB_RECORDS),
    decoderTarget('job-log snapshot', 10, decodeSnapshotState, encodeSnapshotState, [
      {
        records: JOB_RECORDS.slice(0, 4),
        expired: [
          { bits: new Uint8Array(16), count: 0 },
          { bits: Uint8Array.from([1, 2]), count: 2 },
        ],
        recentlyExpired: ['j9'],
      },
    ]),
    decoderTarget('replication frame', 15, decodeReplication, encodeReplication, REPLICATION),
    replayTarget(5),
    configTarget(5),
  ]
}

/** The routes and their parameter shapes, for paths that reach a handler. */
const PATHS = ['/status', '/metrics', '/healthz', '/jobs', '/jobs/batch', '/jobs/:id', '/jobs/:id/result', '/jobs/:id/events', '/jobs/:id/cancel', '/members/:id/remove']
const segment = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('%', '%E0%A4%A', '%00', '..', '%2F', 'j1', '\u00e9', '%F0%9F%98', 'a'.repeat(300)))
const queryValue = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('1', '0', '-1', '600000', '600001', '2147483648', '1e309', 'NaN', '', '%', 'completed', 'bogus'))
const query = fc.dictionary(fc.constantFrom('timeoutMs', 'submitTimeoutMs', 'wait', 'limit', 'cursor', 'status', 'x'), queryValue, { maxKeys: 3 })
const jobOptions = fc.record(
  {
    priority: fc.oneof(fc.integer(), fc.double(), anyValue),
    timeoutMs: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 31), anyValue),
    retries: fc.oneof(fc.integer({ min: -2, max: 20 }), anyValue),
    backoff: fc.oneof(fc.record({ minMs: fc.double(), maxMs: fc.double(), factor: fc.double(), jitter: fc.double() }, { requiredKeys: [] }), anyValue),
    deadline: fc.oneof(fc.double(), anyValue),
    idempotencyKey: fc.oneof(fc.string({ maxLength: 20 }), anyValue),
    dependsOn: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), anyValue),
  },
  { requiredKeys: [] },
)
const submission = fc.record(
  { type: fc.oneof(fc.constant('noop'), fc.string({ maxLength: 10 }), anyValue), input: anyValue, options: fc.oneof(jobOptions, anyValue) },
  { requiredKeys: [] },
)
const body = fc.oneof(
  submission.map(json),
  fc.array(submission, { maxLength: 4 }).map((jobs) => json({ jobs })),
  anyValue.map(json),
  fc.string({ maxLength: 60 }),
  fc.constant(''),
)

export interface HttpCase {
  method: string
  path: string
  headers: Record<string, string>
  body: string
}

export const httpCases: fc.Arbitrary<HttpCase> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD'),
    route: fc.constantFrom(...PATHS),
    params: fc.array(segment, { minLength: 2, maxLength: 2 }),
    extra: fc.option(segment, { nil: undefined }),
    query,
    contentType: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/jsonx',
      '',
    ),
    host: fc.constantFrom('ok', 'ok', 'ok', 'localhost', 'evil.example', '127.0.0.1:1', '[::1]', '', 'ok:99999'),
    body,
  })
  .map(({ method, route, params, extra, query: q, contentType, host, body: b }) => {
    const path = route.replace(':id', encodeSegment(params[0]!)) + (extra === undefined ? '' : `/${encodeSegment(extra)}`)
    const search = new URLSearchParams(q).toString()
    return {
      method,
      path: search === '' ? path : `${path}?${search}`,
      headers: { ...(contentType === '' ? {} : { 'content-type': contentType }), host },
      body: method === 'GET' || method === 'HEAD' ? '' : b,
    }
  })

/** Leaves crafted escapes (`%`, `%E0%A4%A`) raw, so the server sees them; encodes anything else. */
function encodeSegment(text: string): string {
  return /^[%0-9A-Fa-f.]+$/.test(text) ? text : encodeURIComponent(text)
}

/** An HTTP answer the contract accepts: 2xx, or an error status with a typed JSON error. */
export interface HttpAnswer {
  status: number
  body: string
}

/** Sends one case to the server at `host:port` (Host header `ok` means that address). */
export function sendHttpCase(agent: Agent | false, host: string, port: number, c: HttpCase): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { ...c.headers, host: c.headers.host === 'ok' ? `${host}:${port}` : c.headers.host! }
    let req
    try {
      req = request({ agent, host, port, method: c.method, path: c.path, headers, timeout: 15_000 })
    } catch (error) {
      // The client itself refuses (an invalid header or path): nothing reached the server.
      resolve({ status: 0, body: String(error) })
      return
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within 15 s to ${c.method} ${c.path}`)))
    req.on('error', reject)
    req.end(c.body)
  })
}

/** Throws unless `answer` keeps the contract. */
export function checkHttpAnswer(c: HttpCase, answer: HttpAnswer): void {
  if (answer.status === 0 || (answer.status >= 200 && answer.status < 400)) return
  if (c.method === 'HEAD') return
  let code: unknown
  try {
    code = (JSON.parse(answer.body) as { error?: { code?: unknown } }).error?.code
  } catch {
    throw new Error(`${answer.status} without a JSON error body: ${answer.body.slice(0, 200)}`)
  }
  if (answer.status >= 500 && answer.status !== 503) throw new Error(`${answer.status} (${String(code)}): ${answer.body.slice(0, 300)}`)
  if (typeof code !== 'string' || code === 'ERR_INTERNAL') throw new Error(`${answer.status} with an untyped error: ${answer.body.slice(0, 300)}`)
}

/** The HTTP target against a running node's API at `host:port`; `concurrency` requests in flight. */
export function httpTarget(host: string, port: number, weight: number, concurrency = 8): FuzzTarget {
  return {
    name: 'HTTP API (method, path, query, headers, body)',
    weight,
    run: async (cases, seed) => {
      const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
      try {
        const all = fc.sample(httpCases, { numRuns: cases, seed })
        let next = 0
        const failures: string[] = []
        const worker = async (): Promise<void> => {
          while (next < all.length && failures.length === 0) {
            const c = all[next++]!
            try {
              // A kept-alive connection may close under a queued request (legal HTTP): such a case is
              // sent again on a connection of its own, where any failure is a finding.
              const answer = await sendHttpCase(agent, host, port, c).catch(() => sendHttpCase(false, host, port, c))
              checkHttpAnswer(c, answer)
            } catch (error) {
              failures.push(`${(error as Error).message}\n  case (seed ${seed}, #${next - 1}): ${json(c)}`)
            }
          }
        }
        await Promise.all(Array.from({ length: concurrency }, worker))
        if (failures.length > 0) throw new Error(failures[0])
      } finally {
        agent.destroy()
      }
    },
  }
}

/** Splits `total` cases over `targets` by weight (each at least one). */
export function casesPerTarget(targets: readonly FuzzTarget[], total: number): number[] {
  const weights = targets.reduce((sum, t) => sum + t.weight, 0)
  return targets.map((t) => Math.max(1, Math.round((total * t.weight) / weights)))
}

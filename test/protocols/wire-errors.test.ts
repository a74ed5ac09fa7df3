// Goal: every error class with a code survives the trip to the wire and back through the one
// mapping (toWireError, fromWireError) with its name, code and message, and the HTTP client rebuilds
// the classes it knows as themselves. Method: find every exported error class whose body declares a
// code in src/ and protocols/ (by reading the sources, so a new class without a factory here fails),
// build one of each, and send its wire form through a real failure envelope and a job record.
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { EnvelopeCodec } from '../../protocols/envelope/index.js'
import {
  DistributeXError,
  fromWireError,
  isWireError,
  RemoteError,
  toWireError,
  WIRE_ERROR_MESSAGE_MAX_CHARS,
  WIRE_ERROR_NAME_MAX_CHARS,
  type WireError,
  withoutStack,
} from '../../protocols/errors.js'
import { decodeJobRecord, encodeJobRecord } from '../../protocols/jobs/codec.js'
import { errorFromWire } from '../../src/client/errors.js'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')

type Factory = (C: new (...args: never[]) => Error) => Error
const make =
  (...args: unknown[]): Factory =>
  (C) =>
    new (C as unknown as new (...a: unknown[]) => Error)(...args)

/** One instance of each class, from arguments its constructor takes. */
const FACTORIES: Record<string, Factory> = {
  DistributeXError: make('base'),
  ProtocolError: make('protocol'),
  InvalidEnvelopeError: make('bad envelope'),
  UnsupportedVersionError: make(9),
  EnvelopeTooLargeError: make(2000, 1000),
  RemoteError: make('ValidationError', 'ERR_VALIDATION', 'bad input'),
  RemoteJobError: make('HttpError', 'ERR_HTTP', 'HTTP 401', 401),
  AskTimeoutError: make('dx://n1/user/a', 500),
  AbortedError: make('stopped waiting'),
  ActorNotFoundError: make('dx://n1/user/a'),
  ActorStoppedError: make('dx://n1/user/a'),
  MailboxFullError: make('dx://n1/user/a', 10),
  UnhandledMessageError: make('dx://n1/user/a', 'ping'),
  ForbiddenMessageError: make('dx://n1/user/a', 'ping', 'n2'),
  ActorNameTakenError: make('dx://n1/user/a'),
  InvalidArgumentError: make('timeout must be positive'),
  ChildFailedError: make('dx://n1/user/a/b', new Error('boom')),
  SystemShutdownError: make(),
  NodeUnreachableError: make('n2', 'down'),
  UnknownJobTypeError: make('resize'),
  JobExpiredError: make('job-1'),
  InvalidJobError: make('input is not plain data'),
  PayloadTooLargeError: make(2_000_000, 1_048_576),
  ClusterSaturatedError: make(100_000),
  NoLeaderError: make('no leader for 3 s'),
  JobFailedError: make('job-1', { name: 'TypeError', code: 'ERR_JOB', message: 'x is undefined' }),
  JobCancelledError: make('job-1'),
  JobTimeoutError: make(1000),
  DeadlineExceededError: make('deadline passed'),
  DependencyFailedError: make('dependency job-0 failed'),
  PermanentJobError: make('do not retry'),
  AssertionFailure: make('invariant broken'),
  UnsafeDirectoryError: make('/tmp/x', 'world-writable'),
  FileLockedError: make('/tmp/x.lock', 42),
  FileLockUnavailableError: make('/tmp/x.lock', 'no flock'),
  JobLogCorruptedError: make('/tmp/log', 128, 'bad checksum'),
  FencedError: make(3, 4),
  JobLogUnavailableError: make('log down', true),
  CacheUnavailableError: make('cache down'),
  StoreError: make('store down'),
  ReplicaLogFailedError: make('fsync failed'),
  ClusterMismatchError: make('c1', 'c2', '/tmp/replica'),
  ShortWriteError: make('/tmp/log', 0, 100, 50),
  ReplicaLogCorruptedError: make('/tmp/replica', 64, 'bad frame'),
  JobLogNotSharedError: make('/tmp/log', ['n1', 'n2']),
  NotPersistentError: make('counter'),
  StaleEpochError: make('counter/1', 3),
  EntityUnavailableError: make('no owner'),
  UnknownEntityTypeError: make('counter'),
  ReceptionistFullError: make('too many keys'),
  ConfigError: make('bad --voters'),
  DialTimeoutError: make('/ip4/127.0.0.1/tcp/1', 500),
  DialFailedError: make('/ip4/127.0.0.1/tcp/1', 'refused'),
  NetworkStateError: make('send', 'stopped'),
  MalformedFrameError: make('bad frame'),
  ProtocolViolationError: make('out of order'),
  ChannelIdleError: make(30_000),
  ChannelReplacedError: make(),
  KafkaTopicConfigError: make('dx-jobs', ['cleanup.policy is compact']),
  WriteFailure: make('commit', new Error('broker gone')),
  HttpError: make(404, 'no such job'),
}

/** The classes the HTTP client rebuilds as themselves (client/errors.ts); the others become RemoteJobError. */
const REBUILT = new Set([
  'InvalidJobError',
  'UnknownJobTypeError',
  'PayloadTooLargeError',
  'ClusterSaturatedError',
  'NoLeaderError',
  'JobLogUnavailableError',
  'SystemShutdownError',
  'AbortedError',
  'InvalidArgumentError',
])

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sources(path)
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : []
  })
}

/** `[file, class]` for each exported class in src/ and protocols/ that extends an error and declares a code. */
function errorClassesWithCode(): Array<[string, string]> {
  const found: Array<[string, string]> = []
  for (const file of [...sources(join(ROOT, 'protocols')), ...sources(join(ROOT, 'src'))]) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^export class (\w+) extends (\w+) \{\n([\s\S]*?)\n\}\n/gm)) {
      const [, name, base, body] = m as unknown as [string, string, string, string]
      if (!/Error$|Failure$/.test(base) || !/\bcode\b/.test(body)) continue
      found.push([relative(ROOT, file), name])
    }
  }
  return found
}

const codec = new EnvelopeCodec()

function throughEnvelope(wire: WireError): WireError {
  const decoded = codec.decode(codec.encode({ kind: 'failure', id: 7, error: wire }))
  assert.equal(decoded.kind, 'failure')
  return (decoded as { error: WireError }).error
}

function throughJobRecord(wire: WireError): WireError {
  const decoded = decodeJobRecord(encodeJobRecord({ kind: 'finished', id: 'job-1', attempt: 1, outcome: { ok: false, error: wire, permanent: false }, at: 2 }))
  assert.ok(decoded.kind === 'finished' && !decoded.outcome.ok, 'the record keeps the failed outcome')
  return decoded.outcome.error
}

test('every error class with a code goes to the wire and back with its name, code and message', async () => {
  const classes = errorClassesWithCode()
  assert.ok(classes.length >= 50, `found only ${classes.length} error classes: the scan is broken`)
  const missing = classes.filter(([, name]) => FACTORIES[name] === undefined).map(([file, name]) => `${file}: ${name}`)
  assert.deepEqual(missing, [], 'add a factory for each new error class')
  for (const [file, name] of classes) {
    // This module's own copy of the tree: the build's .js under `npm test`, the sources under tsx.
    const module = (await import(join(import.meta.dirname, '..', '..', file.replace(/\.ts$/, '.js')))) as Record<string, unknown>
    const C = module[name] as new (...args: never[]) => Error
    assert.equal(typeof C, 'function', `${file} exports ${name}`)
    const error = FACTORIES[name]!(C)
    const code = (error as { code?: unknown }).code
    assert.equal(typeof code, 'string', `${name} has a code`)
    const wire = toWireError(error)
    assert.deepEqual(wire, { name: error.name, code, message: error.message }, name)
    assert.deepEqual(throughEnvelope(wire), wire, `${name} through a failure envelope`)
    assert.deepEqual(throughJobRecord(wire), wire, `${name} in a job record`)
    const back = fromWireError(throughEnvelope(wire))
    assert.ok(back instanceof RemoteError && back instanceof DistributeXError, name)
    assert.deepEqual([back.name, back.code, back.message], [error.name, code, error.message], `${name} rebuilt`)
    assert.deepEqual(toWireError(back), wire, `${name}: the rebuilt error maps to the same wire form`)
    const client = errorFromWire(wire)
    assert.deepEqual([client.name, (client as { code?: unknown }).code, client.message], [error.name, code, error.message], `${name} in the HTTP client`)
    if (REBUILT.has(name)) assert.ok(client instanceof C, `the HTTP client rebuilds ${name} as itself`)
  }
})

test('a job outcome keeps the wire form of its error', () => {
  const wire = toWireError(new TypeError('x is undefined'), 'ERR_JOB')
  assert.deepEqual(wire, { name: 'TypeError', code: 'ERR_JOB', message: 'x is undefined' })
  assert.deepEqual(throughJobRecord(wire), wire)
})

test('toWireError always yields what the codecs accept, and nothing more', () => {
  const long = new Error('m'.repeat(WIRE_ERROR_MESSAGE_MAX_CHARS + 10))
  long.name = 'N'.repeat(WIRE_ERROR_NAME_MAX_CHARS + 10)
  Object.assign(long, { code: 'C'.repeat(WIRE_ERROR_NAME_MAX_CHARS + 10) })
  const wire = toWireError(long)
  assert.equal(wire.name.length, WIRE_ERROR_NAME_MAX_CHARS)
  assert.equal(wire.code.length, WIRE_ERROR_NAME_MAX_CHARS)
  assert.equal(wire.message.length, WIRE_ERROR_MESSAGE_MAX_CHARS)
  assert.deepEqual(throughEnvelope(wire), wire)

  const nameless = new Error('no name')
  nameless.name = ''
  assert.equal(toWireError(nameless).name, 'Error', 'a failure frame needs a name')
  assert.deepEqual(toWireError('just a string', 'ERR_JOB'), { name: 'Error', code: 'ERR_JOB', message: 'just a string' })
  assert.deepEqual(toWireError(new Error('plain')), { name: 'Error', code: 'ERR_INTERNAL', message: 'plain' }, 'the fallback code when none is given')
  assert.equal(toWireError({ code: 7 }).code, 'ERR_INTERNAL', 'a value that is neither an error nor a wire error')

  const copy = toWireError({ name: 'E', code: 'C', message: 'm', stack: 'secret', extra: 1 })
  assert.deepEqual(copy, { name: 'E', code: 'C', message: 'm' }, 'a wire error is copied without its other fields')
  assert.ok(isWireError(copy))
  assert.ok(!isWireError({ name: 'E', code: 1, message: 'm' }))
})

test('an error rebuilt from the wire has no local stack frames; withoutStack restores the limit even when the maker throws', () => {
  const remote = fromWireError({ name: 'ValidationError', code: 'ERR_VALIDATION', message: 'bad input' })
  assert.doesNotMatch(remote.stack ?? '', /\n\s+at /)
  assert.ok(remote instanceof RemoteError && remote.message === 'bad input')
  const limit = Error.stackTraceLimit
  assert.throws(() =>
    withoutStack(() => {
      throw new Error('maker failed')
    }),
  )
  assert.equal(Error.stackTraceLimit, limit)
  assert.match(new Error('local').stack ?? '', /\n\s+at /, 'errors made elsewhere keep their stack')
})

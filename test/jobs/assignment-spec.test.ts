// Goal: an executor checks the job spec inside an assignment by the same rules as the job-log
// codec, without re-encoding it: every spec the codec round-trips passes unchanged, and every spec
// the codec would refuse (bad id, timeout no timer can hold, input that is not plain data, missing
// or malformed options) is refused with InvalidJobError.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeJobRecord, encodeJobRecord } from '../../protocols/jobs/codec.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { checkSpec } from '../../src/jobs/protocol.js'
import type { JobSpec } from '../../src/jobs/types.js'

const base: JobSpec = {
  id: 'job-1',
  type: 'resize',
  input: { url: 'https://x', sizes: [1, 2] },
  options: resolveJobOptions({ priority: 3, retries: 2, idempotencyKey: 'k', dependsOn: ['a'] }),
  submittedAt: 1_700_000_000_000,
}

/**
 * A value with every -0 made 0. msgpack, like JSON, does not carry the sign of zero, so a -0 deep
 * in a job's input reaches an executor on another node as 0; the direct check passes input through
 * untouched (walking it to rewrite zeros would cost every assignment for a sign no job can rely on).
 */
function unsignedZeros<T>(value: T): T {
  if (Object.is(value, -0)) return 0 as T
  if (Array.isArray(value)) return value.map(unsignedZeros) as T
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unsignedZeros(v)])) as T
  return value
}

/** What the codec round trip (the previous check) says about a spec: the decoded spec, or 'refused'. */
function viaCodec(spec: unknown): JobSpec | 'refused' {
  try {
    const record = decodeJobRecord(encodeJobRecord({ kind: 'submitted', spec: spec as JobSpec }))
    return record.kind === 'submitted' ? record.spec : 'refused'
  } catch {
    return 'refused'
  }
}

function direct(spec: unknown): JobSpec | 'refused' {
  try {
    return checkSpec(spec)
  } catch (error) {
    assert.equal((error as Error).name, 'InvalidJobError')
    return 'refused'
  }
}

test('a well-formed spec passes unchanged', () => {
  assert.deepEqual(checkSpec(base), base)
})

test('malformed specs are refused, as the codec refuses them', () => {
  const bad: unknown[] = [
    null,
    'job',
    { ...base, id: '' },
    { ...base, id: 'x'.repeat(129) },
    { ...base, type: 7 },
    { ...base, input: () => 1 },
    { ...base, options: null },
    { ...base, options: { ...base.options, timeoutMs: 2 ** 31 } },
    { ...base, options: { ...base.options, timeoutMs: 0 } },
    { ...base, options: { ...base.options, retries: -1 } },
    { ...base, options: { ...base.options, backoff: null } },
    { ...base, options: { ...base.options, backoff: { ...base.options.backoff, factor: Number.NaN } } },
    { ...base, options: { ...base.options, dependsOn: 'a' } },
    { ...base, options: { ...base.options, idempotencyKey: '' } },
    { ...base, submittedAt: '2026' },
  ]
  for (const spec of bad) {
    assert.equal(
      direct(spec),
      'refused',
      JSON.stringify(spec, (_, v: unknown) => (typeof v === 'function' ? 'fn' : v)),
    )
    assert.equal(viaCodec(spec), 'refused')
  }
})

test('the direct check agrees with the codec round trip on arbitrary field values', () => {
  const anyValue = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string({ maxLength: 3 }),
    fc.array(fc.string({ maxLength: 2 }), { maxLength: 2 }),
  )
  fc.assert(
    fc.property(
      fc.constantFrom('id', 'type', 'input', 'priority', 'timeoutMs', 'retries', 'deadline', 'idempotencyKey', 'dependsOn', 'submittedAt', 'minMs', 'jitter'),
      anyValue,
      (field, value) => {
        const spec = structuredClone(base) as unknown as Record<string, unknown> & { options: Record<string, unknown> & { backoff: Record<string, unknown> } }
        if (field in spec) spec[field] = value
        else if (field in spec.options) spec.options[field] = value
        else spec.options.backoff[field] = value
        const expected = viaCodec(spec)
        assert.deepEqual(unsignedZeros(direct(spec)), expected)
      },
    ),
    // -0 always: msgpack writes it as 0, and a CI run's random seed found `retries: -0` passed through as -0.
    {
      numRuns: 500,
      examples: [
        ['retries', -0],
        ['priority', -0],
        ['submittedAt', -0],
        ['input', -0],
      ],
    },
  )
})

// Goal: the envelope codec round-trips every valid envelope and, for any other input (random bytes,
// mutated encodings, hostile shapes), throws a ProtocolError subclass and nothing else.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { pack, Packr } from 'msgpackr'
import { EnvelopeCodec, type Envelope } from '../../protocols/envelope/index.js'
import { BODY_MAX_DEPTH } from '../../protocols/envelope/constants.js'
import { ProtocolError } from '../../protocols/errors.js'

const codec = new EnvelopeCodec({ maxBytes: 64 * 1024 })

const name = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,20}$/)
const address = fc.record({ node: name, path: fc.array(name, { minLength: 1, maxLength: 4 }).map((segs) => `/${segs.join('/')}`) })
const plainValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.string(),
    fc.uint8Array({ maxLength: 32 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value
const requestId = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  fc.record({ kind: fc.constant('tell' as const), to: address, body: plainValue }),
  fc.record({ kind: fc.constant('ask' as const), to: address, body: plainValue, id: requestId, timeoutMs: fc.integer({ min: 1, max: 1e9 }) }),
  fc.record({ kind: fc.constant('reply' as const), id: requestId, body: plainValue }),
  fc.record({
    kind: fc.constant('failure' as const),
    id: requestId,
    error: fc.record({ name: fc.string({ minLength: 1, maxLength: 40 }), code: fc.string({ maxLength: 40 }), message: fc.string({ maxLength: 200 }) }),
  }),
)

/** Decodes and checks the contract: a valid envelope back, or a ProtocolError thrown. */
function decodeOrProtocolError(bytes: Uint8Array): Envelope | ProtocolError {
  try {
    const decoded = codec.decode(bytes)
    assert.doesNotThrow(() => codec.encode(decoded), 'whatever decodes must be a valid envelope')
    return decoded
  } catch (error) {
    if (error instanceof ProtocolError) return error
    throw error
  }
}

test('every valid envelope round-trips', () => {
  fc.assert(
    fc.property(envelope, (env) => {
      const bytes = codec.encode(env)
      assert.deepEqual(Buffer.from(codec.encodeTransient(env)), Buffer.from(bytes), 'the transient encoding is the same bytes')
      const decoded = codec.decode(bytes)
      assert.deepEqual(normalize(decoded), normalize(decoded.kind === 'tell' || decoded.kind === 'ask' ? codec.decode(bytes) : decoded), 'decoding is repeatable')
      assert.deepEqual(normalize(decoded), normalize(env))
    }),
    { numRuns: 2000 },
  )
})

test('random bytes decode to a valid envelope or a ProtocolError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => void decodeOrProtocolError(bytes)),
    { numRuns: 20_000 },
  )
})

test('mutated encodings decode to a valid envelope or a ProtocolError', () => {
  const mutation = fc.tuple(envelope, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 6 }))
  fc.assert(
    fc.property(mutation, ([env, edits]) => {
      const bytes = Array.from(codec.encode(env))
      for (const [pos, byte, op] of edits) {
        const i = pos % (bytes.length + 1)
        if (op === 'set' && i < bytes.length) bytes[i] = byte
        else if (op === 'insert') bytes.splice(i, 0, byte)
        else if (op === 'delete' && i < bytes.length) bytes.splice(i, 1)
      }
      decodeOrProtocolError(Uint8Array.from(bytes))
    }),
    { numRuns: 20_000 },
  )
})

test('hostile but well-formed msgpack is refused with the right error', () => {
  const cases: Array<[unknown, string]> = [
    [{ not: 'an array' }, 'InvalidEnvelopeError'],
    [[2, 0, 'n', '/a', 1], 'UnsupportedVersionError'],
    [[1, 9, 'n', '/a', 1], 'InvalidEnvelopeError'],
    [[1, 0, 'n', 'no-slash', 1], 'InvalidEnvelopeError'],
    [[1, 0, 'n', '/a/../b', 1], 'InvalidEnvelopeError'],
    [[1, 0, 'n', '/a'], 'InvalidEnvelopeError'],
    [[1, 1, 'n', '/a', 1, -1, 10], 'InvalidEnvelopeError'],
    [[1, 1, 'n', '/a', 1, 1.5, 10], 'InvalidEnvelopeError'],
    [[1, 1, 'n', '/a', 1, 1, 0], 'InvalidEnvelopeError'],
    [[1, 3, 1, '', 'c', 'm'], 'InvalidEnvelopeError'],
    [[1, 3, 1, 'E', 'c', 'm'.repeat(5000)], 'InvalidEnvelopeError'],
  ]
  for (const [value, expected] of cases) {
    assert.throws(() => codec.decode(pack(value)), { name: expected }, JSON.stringify(value).slice(0, 60))
  }
  let deep: unknown = 1
  for (let i = 0; i < 100; i++) deep = [deep]
  assert.throws(() => codec.decode(pack([1, 0, 'n', '/a', deep])), { name: 'InvalidEnvelopeError' })
  const protoKey = Uint8Array.from([0x95, 0x01, 0x00, 0xa1, 0x6e, 0xa2, 0x2f, 0x61, 0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x78, 0x01])
  const decoded = codec.decode(protoKey)
  assert.equal(({} as { x?: unknown }).x, undefined, 'no prototype pollution')
  assert.equal(Object.getPrototypeOf((decoded as { body: object }).body), Object.prototype)
})

test('the size limit applies on encode and on decode', () => {
  const small = new EnvelopeCodec({ maxBytes: 100 })
  const big: Envelope = { kind: 'tell', to: { node: 'n', path: '/a' }, body: 'x'.repeat(200) }
  assert.throws(() => small.encode(big), { name: 'EnvelopeTooLargeError', maxBytes: 100 })
  assert.throws(() => small.decode(new EnvelopeCodec().encode(big)), { name: 'EnvelopeTooLargeError' })
})

test('a body that is not plain data is refused at the sender', () => {
  const to = { node: 'n', path: '/a' }
  for (const body of [() => 1, Symbol('s'), new Map([[1, 2]]), new (class Point {})(), { nested: { fn: () => 1 } }, new Date(Number.NaN)]) {
    assert.throws(() => codec.encode({ kind: 'tell', to, body }), { name: 'InvalidEnvelopeError' })
  }
  assert.throws(() => codec.encode({ kind: 'tell', to: { node: 'n', path: 'bad' }, body: 1 }), { name: 'InvalidEnvelopeError' })
})

test('bodies nest at most BODY_MAX_DEPTH arrays and maps deep, on encode and on decode, and bad values are found inside arrays and maps', () => {
  const to = { node: 'n', path: '/a' }
  const nest = (levels: number, leaf: unknown, map: boolean): unknown => {
    let v = leaf
    for (let i = 0; i < levels; i++) v = map ? { k: v } : [v]
    return v
  }
  for (const map of [false, true]) {
    for (const leaf of ['s', 1, null, new Uint8Array(2), new Date(0)]) {
      const deepest: Envelope = { kind: 'tell', to, body: nest(BODY_MAX_DEPTH, leaf, map) }
      assert.doesNotThrow(() => codec.decode(codec.encode(deepest)), `${BODY_MAX_DEPTH} levels of ${map ? 'maps' : 'arrays'} around ${String(leaf)}`)
    }
    const tooDeep = nest(BODY_MAX_DEPTH + 1, 1, map)
    assert.throws(() => codec.encode({ kind: 'tell', to, body: tooDeep }), { name: 'InvalidEnvelopeError', message: /deeper than 64/ })
    assert.throws(() => codec.decode(new Packr({ useRecords: false }).pack([1, 0, 'n', '/a', tooDeep])), { name: 'InvalidEnvelopeError', message: /deeper than 64/ })
  }
  const bad = [() => 1, Symbol('s'), new (class Point {})(), new Date(Number.NaN), new Set([1])]
  for (const value of bad) {
    for (const body of [[1, 'a', value], { a: 'x', b: 2, c: value }, [{ a: [true, 1n, undefined, value] }]]) {
      assert.throws(() => codec.encode({ kind: 'tell', to, body }), { name: 'InvalidEnvelopeError' }, typeof value)
    }
  }
  const fine = [true, false, 1n, undefined, -0, 'x', Object.create(null) as object]
  assert.doesNotThrow(() => codec.encode({ kind: 'tell', to, body: [fine, { ...fine }] }))
})

/** Rebuilds a value with plain prototypes (msgpackr yields Buffers and Object-prototype maps); -0 travels as 0. */
function normalize(value: unknown): unknown {
  if (Object.is(value, -0)) return 0
  if (value instanceof Uint8Array) return { bytes: Array.from(value) }
  if (Array.isArray(value)) return value.map(normalize)
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]))
  return value
}

test('the fast paths write exactly what msgpack writes for the wire array, and read what any msgpack encoder wrote', () => {
  // The codec writes request ids, timeouts and the reply prefix itself instead of packing an array;
  // a peer that packs the whole array (or an older codec) must read the same envelope, and vice versa.
  const general = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })
  const numbers = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER]
  const to = { node: 'n1', path: '/user/echo' }
  for (const id of numbers) {
    for (const timeoutMs of [...numbers.slice(1), 0.5, 1234.75]) {
      const ask: Envelope = { kind: 'ask', to, body: { type: 'x' }, id, timeoutMs }
      const wire = general.pack([1, 1, to.node, to.path, ask.body, id, timeoutMs])
      assert.deepEqual(Buffer.from(codec.encode(ask)), Buffer.from(wire), `ask id ${id} timeout ${timeoutMs}`)
      assert.deepEqual(codec.decode(wire), ask)
    }
    const reply: Envelope = { kind: 'reply', id, body: ['ok', id] }
    const wire = general.pack([1, 2, id, reply.body])
    assert.deepEqual(Buffer.from(codec.encode(reply)), Buffer.from(wire), `reply id ${id}`)
    assert.deepEqual(codec.decode(wire), reply)
    assert.deepEqual(codec.decode(codec.encodeTransient(reply)), reply)
  }
  for (const id of [-1, 1.5]) assert.throws(() => codec.decode(general.pack([1, 2, id, null])), ProtocolError)
  assert.throws(() => codec.decode(Uint8Array.of(0x94, 1, 2, 0xcd, 0x01)), ProtocolError, 'a truncated id')
  assert.throws(() => codec.decode(Uint8Array.of(0x94, 1, 2, 0x05, 0xc0, 0xc0)), ProtocolError, 'bytes after the body')
})

// Goal: the mesh frame codec decodes exactly what was encoded, however the bytes are split into
// chunks, and turns every other input into MalformedFrameError without ever buffering more than one
// frame. Method: hand-written cases for each rule, and property tests over random frame sequences,
// random chunking, random bytes and mutated encodings.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MalformedFrameError } from '../../../src/adapters/libp2p/errors.js'
import {
  CREDIT_FRAME_BYTES,
  DATA_HEADER_BYTES,
  FrameDecoder,
  KEEPALIVE_FRAME_BYTES,
  encodeCreditFrame,
  encodeByeFrame,
  encodeKeepaliveFrame,
  encodeProtocolName,
  writeBindFrame,
  writeDataHeader,
  type FrameVisitor,
} from '../../../src/adapters/libp2p/framing.js'

type Frame =
  { kind: 'data'; index: number; payload: Uint8Array } | { kind: 'bind'; index: number; name: string } | { kind: 'credit'; bytes: number } | { kind: 'keepalive' } | { kind: 'bye' }

const FRAME_MAX = 4096

function encode(frame: Frame): Uint8Array {
  switch (frame.kind) {
    case 'data': {
      const out = new Uint8Array(DATA_HEADER_BYTES + frame.payload.length)
      writeDataHeader(out, 0, frame.index, frame.payload.length)
      out.set(frame.payload, DATA_HEADER_BYTES)
      return out
    }
    case 'bind': {
      const name = encodeProtocolName(frame.name)!
      const out = new Uint8Array(DATA_HEADER_BYTES + name.length)
      writeBindFrame(out, 0, frame.index, name)
      return out
    }
    case 'credit':
      return encodeCreditFrame(frame.bytes)
    case 'keepalive':
      return encodeKeepaliveFrame()
    case 'bye':
      return encodeByeFrame()
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** A visitor that records every frame, copying payloads as a real receiver must. */
function recorder(): FrameVisitor & { frames: Frame[]; dataBytes: number[] } {
  const frames: Frame[] = []
  const dataBytes: number[] = []
  return {
    frames,
    dataBytes,
    data(index, source, start, end) {
      assert.equal(source.constructor, Uint8Array, 'payload source must be a plain Uint8Array')
      frames.push({ kind: 'data', index, payload: source.slice(start, end) })
      dataBytes.push(end - start + DATA_HEADER_BYTES)
    },
    bind(index, name, frameBytes) {
      frames.push({ kind: 'bind', index, name })
      dataBytes.push(frameBytes)
    },
    credit(bytes) {
      frames.push({ kind: 'credit', bytes })
    },
    keepalive() {
      frames.push({ kind: 'keepalive' })
    },
    bye() {
      frames.push({ kind: 'bye' })
    },
  }
}

function decodeAll(bytes: Uint8Array, cuts: number[] = []): Frame[] {
  const decoder = new FrameDecoder(FRAME_MAX)
  const visitor = recorder()
  let last = 0
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((x, y) => x - y).concat(bytes.length)) {
    decoder.push(bytes.subarray(last, cut), visitor)
    last = cut
  }
  assert.equal(decoder.bufferedBytes, 0)
  return visitor.frames
}

const protocolName = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => encodeProtocolName(s) !== undefined)
const frame: fc.Arbitrary<Frame> = fc
  .oneof(
    fc.record({ kind: fc.constant('data' as const), index: fc.integer({ min: 0, max: 0xffff }), payload: fc.uint8Array({ maxLength: 600 }) }),
    fc.record({ kind: fc.constant('bind' as const), index: fc.integer({ min: 0, max: 0xffff }), name: protocolName }),
    fc.record({ kind: fc.constant('credit' as const), bytes: fc.integer({ min: 1, max: 0xffffffff }) }),
    fc.constant({ kind: 'keepalive' as const }),
    fc.constant({ kind: 'bye' as const }),
  )
  .map((f) => ({ ...f }) as Frame)

test('frames round-trip however the stream is cut into chunks', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 20 }), fc.array(fc.nat(20_000), { maxLength: 30 }), (frames, cuts) => {
      assert.deepEqual(decodeAll(concat(frames.map(encode)), cuts), frames)
    }),
    { numRuns: 500 },
  )
})

test('byte-at-a-time input decodes the same frames', () => {
  const frames: Frame[] = [
    { kind: 'bind', index: 0, name: '/dx/actor/1' },
    { kind: 'data', index: 0, payload: Uint8Array.of(1, 2, 3) },
    { kind: 'data', index: 0, payload: new Uint8Array(0) },
    { kind: 'credit', bytes: 65_536 },
    { kind: 'keepalive' },
    { kind: 'bye' },
  ]
  const bytes = concat(frames.map(encode))
  assert.deepEqual(
    decodeAll(
      bytes,
      Array.from({ length: bytes.length }, (_, i) => i),
    ),
    frames,
  )
})

test('frame sizes are what credit accounting expects', () => {
  const visitor = recorder()
  const decoder = new FrameDecoder(FRAME_MAX)
  const data = encode({ kind: 'data', index: 1, payload: new Uint8Array(100) })
  const bind = encode({ kind: 'bind', index: 0, name: '/p' })
  decoder.push(concat([bind, data]), visitor)
  assert.deepEqual(visitor.dataBytes, [bind.length, data.length])
  assert.equal(data.length, 107)
  assert.equal(encodeCreditFrame(1).length, CREDIT_FRAME_BYTES)
  assert.equal(encodeKeepaliveFrame().length, KEEPALIVE_FRAME_BYTES)
})

test('payloads handed out from Buffer input are copies, not views of the chunk', () => {
  const chunk = Buffer.from(encode({ kind: 'data', index: 0, payload: Uint8Array.of(9, 9, 9) }))
  const visitor = recorder()
  new FrameDecoder(FRAME_MAX).push(chunk, visitor)
  chunk.fill(0)
  assert.deepEqual(visitor.frames, [{ kind: 'data', index: 0, payload: Uint8Array.of(9, 9, 9) }])
})

function header(length: number, kind: number): number[] {
  return [length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, kind]
}

test('each malformed frame is rejected with MalformedFrameError', () => {
  const cases: Array<[string, number[]]> = [
    ['zero length', [0, 0, 0, 0]],
    ['length beyond the limit (rejected from the prefix alone)', [0xff, 0xff, 0xff, 0xff]],
    ['frame one byte over the limit', header(FRAME_MAX - 3, 1)],
    ['unknown kind', header(1, 9)],
    ['kind 0', header(1, 0)],
    ['DATA without an index', [...header(2, 1), 0]],
    ['BIND with an empty name', [...header(3, 2), 0, 0]],
    ['BIND with a name over 256 bytes', [...header(3 + 257, 2), 0, 0, ...new Array<number>(257).fill(0x61)]],
    ['BIND with invalid UTF-8', [...header(4, 2), 0, 0, 0xff]],
    ['CREDIT of zero', [...header(5, 3), 0, 0, 0, 0]],
    ['CREDIT with a short body', [...header(4, 3), 0, 0, 1]],
    ['KEEPALIVE with a body', [...header(2, 4), 0]],
    ['BYE with a body', [...header(2, 5), 0]],
  ]
  for (const [what, bytes] of cases) {
    assert.throws(() => new FrameDecoder(FRAME_MAX).push(Uint8Array.from(bytes), recorder()), MalformedFrameError, what)
  }
})

test('a malformed frame after valid ones still delivers the valid ones first', () => {
  const visitor = recorder()
  const good = encode({ kind: 'keepalive' })
  assert.throws(() => new FrameDecoder(FRAME_MAX).push(concat([good, good, Uint8Array.from(header(1, 77))]), visitor), MalformedFrameError)
  assert.equal(visitor.frames.length, 2)
})

test('random bytes either decode or throw MalformedFrameError, buffering at most one frame', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
      const decoder = new FrameDecoder(FRAME_MAX)
      try {
        for (const chunk of chunks) {
          decoder.push(chunk, recorder())
          assert.ok(decoder.bufferedBytes <= FRAME_MAX)
        }
      } catch (error) {
        assert.ok(error instanceof MalformedFrameError, String(error))
      }
    }),
    { numRuns: 5_000 },
  )
})

test('mutated valid streams either decode or throw MalformedFrameError', () => {
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 6 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (frames, edits) => {
        const bytes = concat(frames.map(encode))
        for (const [at, value] of edits) bytes[at % bytes.length] = value
        try {
          decodeAll(bytes)
        } catch (error) {
          if (error instanceof assert.AssertionError) return
          assert.ok(error instanceof MalformedFrameError, String(error))
        }
      },
    ),
    { numRuns: 2_000 },
  )
})

test('protocol names that cannot be bound are refused by the encoder', () => {
  assert.equal(encodeProtocolName(''), undefined)
  assert.equal(encodeProtocolName('x'.repeat(257)), undefined)
  assert.equal(encodeProtocolName('é'.repeat(200)), undefined)
  assert.deepEqual(encodeProtocolName('/a'), Uint8Array.of(0x2f, 0x61))
  assert.throws(() => encodeCreditFrame(0), RangeError)
  assert.throws(() => new FrameDecoder(3), RangeError)
})

// Goal: the frame encoders write their u64 fields (epochs, offsets) from numbers without BigInts, and
// the bytes are exactly the little-endian u64 the format defines, across the 32-bit boundary and up
// to the largest safe integer; a value that is not a non-negative safe integer is refused rather
// than written wrong. Method: encode frames with boundary values, compare each u64 field with
// Buffer#writeBigUInt64LE's bytes, and read the frames back with scanFrame.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  FENCE_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  START_FRAME_BYTES,
  encodeFenceFrame,
  encodeRecordsFrame,
  encodeStartFrame,
  recordFrameBytes,
  recordsFrameBytes,
  scanFrame,
} from '../../src/files/file-log-format.js'

const VALUES = [0, 1, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]

function u64(value: number): Buffer {
  const bytes = Buffer.alloc(8)
  bytes.writeBigUInt64LE(BigInt(value))
  return bytes
}

test('records, fence and start frames carry exact u64 fields across the 32-bit boundary', () => {
  const payload = Uint8Array.of(1, 2, 3)
  for (const epoch of VALUES) {
    for (const offset of VALUES) {
      const frame = Buffer.alloc(recordsFrameBytes([payload]))
      assert.equal(encodeRecordsFrame(frame, 0, epoch, offset, [payload]), frame.length)
      const body = FRAME_HEADER_BYTES + 1
      assert.deepEqual([frame.subarray(body, body + 8), frame.subarray(body + 8, body + 16)], [u64(epoch), u64(offset)], `epoch ${epoch}, offset ${offset}`)
      assert.deepEqual(scanFrame(frame, 0), { kind: 'records', epoch, firstOffset: offset, count: 1, frameBytes: frame.length })
    }
    const fence = Buffer.alloc(FENCE_FRAME_BYTES)
    encodeFenceFrame(fence, 0, epoch)
    assert.deepEqual(fence.subarray(FRAME_HEADER_BYTES + 1), u64(epoch))
    assert.deepEqual(scanFrame(fence, 0), { kind: 'fence', epoch, frameBytes: FENCE_FRAME_BYTES })
    const start = Buffer.alloc(START_FRAME_BYTES)
    encodeStartFrame(start, 0, epoch, VALUES[3]!)
    assert.deepEqual(scanFrame(start, 0), { kind: 'start', epoch, startOffset: VALUES[3], frameBytes: START_FRAME_BYTES })
  }
})

test('a one-record frame has the size recordsFrameBytes gives', () => {
  for (const n of [0, 1, 150, 70_000]) assert.equal(recordFrameBytes(n), recordsFrameBytes([new Uint8Array(n)]))
})

test('an epoch or offset that is negative, fractional or beyond the safe integers is refused', () => {
  const frame = Buffer.alloc(recordsFrameBytes([]))
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
    assert.throws(() => encodeRecordsFrame(frame, 0, bad, 0, []), RangeError, `epoch ${bad}`)
    assert.throws(() => encodeRecordsFrame(frame, 0, 1, bad, []), RangeError, `offset ${bad}`)
  }
})

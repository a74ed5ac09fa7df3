// Goal: durationHintMs travels in the job log record as an optional trailing field: records with it
// round-trip, records written before it existed still decode (without it), and a bad hint is a
// typed error, both at submission (InvalidJobError) and in a record (a ProtocolError).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Packr } from 'msgpackr'
import { decodeJobRecord, encodeJobRecord } from '../../protocols/jobs/codec.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { InvalidJobError } from '../../src/jobs/errors.js'

const spec = (options = {}) => ({ id: 'j1', type: 't', input: { a: 1 }, options: resolveJobOptions(options), submittedAt: 5 })

test('a hint round-trips; a record without one decodes without it', () => {
  const withHint = decodeJobRecord(encodeJobRecord({ kind: 'submitted', spec: spec({ durationHintMs: 250 }) }))
  assert.equal(withHint.kind === 'submitted' && withHint.spec.options.durationHintMs, 250)
  const without = decodeJobRecord(encodeJobRecord({ kind: 'submitted', spec: spec() }))
  assert.ok(without.kind === 'submitted' && !('durationHintMs' in without.spec.options))
})

test('bad hints are refused with typed errors', () => {
  for (const bad of [0, -1, Number.NaN, Infinity, 2 ** 31]) assert.throws(() => resolveJobOptions({ durationHintMs: bad }), InvalidJobError)
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })
  const wire = packr.unpack(encodeJobRecord({ kind: 'submitted', spec: spec({ durationHintMs: 250 }) })) as unknown[]
  wire[13] = 'soon'
  assert.throws(
    () => decodeJobRecord(packr.pack(wire)),
    (e: Error & { code?: string }) => typeof e.code === 'string' && /durationHintMs/.test(e.message),
  )
})

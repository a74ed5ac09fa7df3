// Goal: every assertion in src/, actors/ and protocols/ is tripped by some test, and the test shows
// which one it tripped (issue 17, item 5). Method: the audit of assertions.ts over the repository
// (each `assert(...)` found with the TypeScript parser, linked to an `assert.throws`/`rejects` that
// expects AssertionFailure with a message holding the assertion's key), and the audit run over
// synthetic sources to show that it fails on what it must refuse.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { audit, auditRepository, findAssertions, findTrips } from './assertions.js'

test('every assertion in src/, actors/ and protocols/ is tripped by a test that names its message', () => {
  const { assertions, problems } = auditRepository()
  assert.ok(assertions.length >= 80, `found only ${assertions.length} assertions: is the scan broken?`)
  assert.deepEqual(problems, [])
})

const code = {
  path: 'src/x.ts',
  text: [
    "import { assert } from './assert.js'",
    'export function f(n: number, at: number): void {',
    "  assert(n > 0, 'f needs a positive count')", // 3
    '  assert(',
    '    at < n,',
    '    `index ${at} beyond the count ${n}`,', // 4: its key is "beyond the count"
    '  )',
    '  node.assert(n, "not ours")', // a method of something else, not an assertion
    '}',
  ].join('\n'),
}

test('the audit finds assert calls with their keys, plain and template messages, on several lines', () => {
  assert.deepEqual(findAssertions(code), [
    { where: 'src/x.ts:3', key: 'f needs a positive count' },
    { where: 'src/x.ts:4', key: 'beyond the count' },
  ])
  assert.deepEqual(findAssertions({ path: 'src/y.ts', text: 'assert(ok, reason)\nassert(ok)' }), [
    { where: 'src/y.ts:1', key: undefined },
    { where: 'src/y.ts:2', key: undefined },
  ])
})

test('only a throws/rejects expecting AssertionFailure (by name or code) with a message counts as a trip', () => {
  const trips = findTrips({
    path: 'test/x.test.ts',
    text: [
      "assert.throws(() => f(0, 0), { name: 'AssertionFailure', message: /f needs a positive count/ })",
      "await assert.rejects(g(), { code: 'ERR_ASSERTION', message: 'index 3 beyond the count 2' })",
      'assert.throws(() => f(1, 5), AssertionFailure)', // no message: cannot tell which assertion
      "assert.throws(() => f(1, 5), { name: 'RangeError', message: /beyond the count/ })", // another error
      'assert.match(text, /beyond the count/) // AssertionFailure mentioned, but not a throws',
      "assert.throws(() => f(2, 9), { name: 'AssertionFailure', message: /index \\d+ beyond the count \\(/ })",
    ].join('\n'),
  })
  assert.deepEqual(trips, [
    { where: 'test/x.test.ts:1', message: 'f needs a positive count' },
    { where: 'test/x.test.ts:2', message: 'index 3 beyond the count 2' },
    { where: 'test/x.test.ts:6', message: 'index \\d+ beyond the count (' },
  ])
})

test('the audit fails on an assertion no test trips, on a message no test can name, and on keys that overlap', () => {
  const tripsFirst = { path: 'test/x.test.ts', text: "assert.throws(() => f(0, 0), { name: 'AssertionFailure', message: /f needs a positive count/ })" }
  assert.deepEqual(audit([code], [tripsFirst]).problems, ['src/x.ts:4: no test trips "beyond the count"'])
  const tripsBoth = { path: 'test/y.test.ts', text: "assert.throws(() => f(1, 5), { name: 'AssertionFailure', message: /index 5 beyond the count 1/ })" }
  const passing = audit([code], [tripsFirst, tripsBoth])
  assert.deepEqual(passing.problems, [])
  assert.deepEqual(
    passing.assertions.map((a) => [a.where, a.trippedBy]),
    [
      ['src/x.ts:3', ['test/x.test.ts:1']],
      ['src/x.ts:4', ['test/y.test.ts:1']],
    ],
  )
  const unnamed = { path: 'src/z.ts', text: "assert(ok, why)\nassert(ok, 'short')\nassert(a, 'the count')\nassert(b, 'the count went wrong')" }
  const trips = { path: 'test/z.test.ts', text: "assert.throws(f, { name: 'AssertionFailure', message: /the count went wrong short/ })" }
  assert.deepEqual(audit([unnamed], [trips]).problems, [
    'src/z.ts:1: the message is not a string or template literal, so no test can name it',
    'src/z.ts:2: the message\'s longest static piece "short" is shorter than 8 characters',
    'src/z.ts:3: its key "the count" is also in the message of src/z.ts:4; make the messages distinct',
    "test/z.test.ts:1: the message expected names src/z.ts:2 and src/z.ts:3 and src/z.ts:4; expect one assertion's",
  ])
  const both = { path: 'test/w.test.ts', text: "assert.throws(f, { name: 'AssertionFailure', message: /f needs a positive count, index 1 beyond the count 0/ })" }
  assert.deepEqual(audit([code], [both]).problems, ["test/w.test.ts:1: the message expected names src/x.ts:3 and src/x.ts:4; expect one assertion's"])
})

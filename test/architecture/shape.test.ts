// Goal: the shape counts (shape.ts) measure what they say: every kind of function with its length
// in lines and the name it goes by, and assert calls but not other calls or mentions.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertCalls, functionLengths } from './shape.js'

test('functions of every kind, nested ones too, with their lines and names', () => {
  const source = [
    'export function outer(): void {', // 1
    '  const inner = () => {', // 2
    '    return 1', // 3
    '  }', // 4
    '}', // 5
    'class C {', // 6
    '  constructor() {}', // 7
    '  get x(): number { return 1 }', // 8
    '  m(): void {', // 9
    '    [1].map(function (v) { return v })', // 10
    '  }', // 11
    '}', // 12
    'declare function f(): void', // 13: no body, not counted
  ].join('\n')
  assert.deepEqual(
    functionLengths('a.ts', source).map((f) => [f.name, f.where, f.lines]),
    [
      ['outer', 'a.ts:1', 5],
      ['inner', 'a.ts:2', 3],
      ['constructor', 'a.ts:7', 1],
      ['x', 'a.ts:8', 1],
      ['m', 'a.ts:9', 3],
      ['(anonymous)', 'a.ts:10', 1],
    ],
  )
})

test('assert calls, plain and node:assert style; no other calls or mentions', () => {
  assert.equal(assertCalls('a.ts', "assert(x > 0, 'x')\nassert.equal(a, b)\nconst assertion = 1\nmyassert(x)\nfoo.assert(y)\n// assert(z)"), 2)
})

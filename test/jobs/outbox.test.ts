// Goal: the core's effects become one message per destination and kind, items in the core's order,
// destinations in the order first named; a watcher hears of finished jobs whether it watched before
// they finished or after, finished ones first; nothing is lost or duplicated.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { outboxOf } from '../../src/jobs/outbox.js'
import type { Effects } from '../../src/jobs/scheduler-core.js'

const spec = (id: string) => ({ id, type: 't', input: null, options: resolveJobOptions({}), submittedAt: 0 })
const ok = (value: number) => ({ ok: true as const, value })

const effects: Effects = {
  append: [],
  assign: [
    { node: 'n2', spec: spec('a'), attempt: 1, attemptKey: 'k.a' },
    { node: 'n1', spec: spec('b'), attempt: 2, attemptKey: 'k.b' },
    { node: 'n2', spec: spec('c'), attempt: 1, attemptKey: 'k.c' },
  ],
  abort: [
    { node: 'n1', id: 'x', attemptKey: 'k.x' },
    { node: 'n1', id: 'y', attemptKey: 'k.y' },
  ],
  durable: ['a'],
  finished: [
    { id: 'f1', outcome: ok(1), idempotencyKey: null, watchers: ['w1', 'w2'] },
    { id: 'f2', outcome: ok(2), idempotencyKey: 'key', watchers: [] },
  ],
  notify: [{ id: 'f0', outcome: ok(0), watchers: ['w2'] }],
  progress: [
    { id: 'p', fraction: 0.5, message: null, watchers: ['w3'] },
    { id: 'q', fraction: 1, message: 'done', watchers: ['w3', 'w1'] },
  ],
  steal: [{ node: 'n3', id: 's', attemptKey: 'k.s' }],
}

test('one message per destination and kind, in the order the core named them', () => {
  const out = outboxOf(effects)
  assert.deepEqual(
    [...out.assign].map(([node, list]) => [node, list.map((a) => [a.spec.id, a.attempt, a.attemptKey])]),
    [
      [
        'n2',
        [
          ['a', 1, 'k.a'],
          ['c', 1, 'k.c'],
        ],
      ],
      ['n1', [['b', 2, 'k.b']]],
    ],
  )
  assert.deepEqual(
    [...out.abort],
    [
      [
        'n1',
        [
          { id: 'x', attemptKey: 'k.x' },
          { id: 'y', attemptKey: 'k.y' },
        ],
      ],
    ],
  )
  assert.deepEqual([...out.steal], [['n3', [{ id: 's', attemptKey: 'k.s' }]]])
  assert.deepEqual(
    [...out.finished].map(([w, items]) => [w, items.map((i) => i.id)]),
    [
      ['w1', ['f1']],
      ['w2', ['f1', 'f0']],
    ],
  )
  assert.deepEqual(
    [...out.progress].map(([w, items]) => [w, items.map((i) => [i.id, i.fraction, i.message])]),
    [
      [
        'w3',
        [
          ['p', 0.5, null],
          ['q', 1, 'done'],
        ],
      ],
      ['w1', [['q', 1, 'done']]],
    ],
  )
})

test('no effects, no messages', () => {
  const out = outboxOf({ append: [], assign: [], abort: [], durable: [], finished: [], notify: [], progress: [], steal: [] })
  assert.deepEqual([out.assign.size, out.abort.size, out.steal.size, out.finished.size, out.progress.size], [0, 0, 0, 0, 0])
})

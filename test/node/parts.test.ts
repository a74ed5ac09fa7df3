// Goal: a node's parts stop in one place, last started first, every stop runs even after a failed
// one, and a start that fails half-way stops what already runs (src/node/parts.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { NodeParts } from '../../src/node/parts.js'

test('parts stop in the reverse order of their start, once, with the options the runtime needs', async () => {
  const parts = new NodeParts()
  const stopped: string[] = []
  for (const name of ['lock', 'network', 'storage', 'runtime', 'http']) parts.add(name, (options) => void stopped.push(`${name}:${options.timeoutMs ?? '-'}`))
  await Promise.all([parts.stop({ timeoutMs: 5 }), parts.stop({ timeoutMs: 9 })])
  assert.deepEqual(stopped, ['http:5', 'runtime:5', 'storage:5', 'network:5', 'lock:5'])
  assert.throws(() => parts.add('late', () => {}), { name: 'AssertionFailure', message: /part late added after the node began to stop/ })
})

test('a failed stop does not keep the parts below it running; the first failure is rethrown', async () => {
  const parts = new NodeParts()
  const stopped: string[] = []
  parts.add('lock', () => void stopped.push('lock'))
  parts.add('network', () => Promise.reject(new Error('network stuck')))
  parts.add('storage', () => {
    throw new Error('storage stuck')
  })
  parts.add('http', () => void stopped.push('http'))
  await assert.rejects(parts.stop(), /storage stuck/)
  assert.deepEqual(stopped, ['http', 'lock'])
})

test('a start that fails half-way stops what already runs and rethrows its own error', async () => {
  const parts = new NodeParts()
  const stopped: string[] = []
  await assert.rejects(
    parts.starting(async () => {
      parts.add('lock', () => void stopped.push('lock'))
      parts.add('runtime', (options) => void stopped.push(`runtime:${options.timeoutMs}`))
      parts.add('network', () => Promise.reject(new Error('also failing')))
      throw new Error('http port taken')
    }),
    /http port taken/,
  )
  assert.deepEqual(stopped, ['runtime:1000', 'lock'])
  assert.throws(() => parts.add('x', () => {}), { name: 'AssertionFailure', message: /part x added after the node began to stop/ }, 'a failed start leaves the parts stopped')
})

test('a part is added once', () => {
  const parts = new NodeParts()
  parts.add('network', () => {})
  assert.throws(() => parts.add('network', () => {}), /added twice/)
})

test('a part is added once', () => {
  const parts = new NodeParts()
  parts.add('network', () => {})
  assert.throws(() => parts.add('network', () => {}), { name: 'AssertionFailure', message: /part network added twice/ })
})

// Goal: what the fuzz script found stays fixed, each as the request that found it. Method: a real
// node's HTTP API (test/fuzz/node.ts).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Agent } from 'node:http'
import { fuzzNode } from '../fuzz/node.js'
import { sendHttpCase } from '../fuzz/targets.js'

let node: Awaited<ReturnType<typeof fuzzNode>> | undefined
before(async () => {
  node = await fuzzNode()
})
after(async () => {
  await node?.close()
})

test('a malformed percent-escape in the path and a dependsOn that is not a list are typed 400s, not 500s', async () => {
  const agent = new Agent({ keepAlive: false })
  const cases = [
    { method: 'POST', path: '/jobs/%F0%9F%98', body: '', code: 'ERR_HTTP_PATH' },
    { method: 'GET', path: '/jobs/%', body: '', code: 'ERR_HTTP_PATH' },
    { method: 'POST', path: '/jobs', body: JSON.stringify({ type: 'noop', input: null, options: { dependsOn: { a: 1 } } }), code: 'ERR_INVALID_JOB' },
    { method: 'POST', path: '/jobs', body: JSON.stringify({ type: 'noop', input: null, options: { dependsOn: 5 } }), code: 'ERR_INVALID_JOB' },
  ]
  for (const c of cases) {
    const answer = await sendHttpCase(agent, node!.host, node!.port, { method: c.method, path: c.path, headers: { 'content-type': 'application/json', host: 'ok' }, body: c.body })
    assert.equal(answer.status, 400, `${c.method} ${c.path}: ${answer.body}`)
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, c.code, answer.body)
  }
})

// Goal: a wait for a job's result that ends before the job does is no outcome. GET
// /jobs/:id/result and POST /jobs?wait answer 504 AbortedError (the job goes on and its result
// comes later), and a batch's entry keeps its id with no `ok`; before, each answered 200 `ok: false`
// with AbortedError, which read as the failure of a job still queued (test/security/chaos.test.ts).
// One real CLI peer on loopback.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { startCluster, type Peer } from '../helpers/peers.js'

const peers: Peer[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

type Reply = { id?: string; ok?: boolean; value?: unknown; error?: { name: string }; results?: Array<{ id?: string; ok?: boolean; error?: { name: string } }> }

test('a wait that ends before the job is a 504, not the job failing; the result comes later', { timeout: 120_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-result-wait-'))
  const [peer] = await startCluster(dir, 1, peers)
  const submitted = await peer!.call<Reply>('POST', '/jobs', { type: 'sleep', input: { ms: 3000 } })
  assert.equal(submitted.status, 202)
  const id = submitted.json.id!

  const early = await peer!.call<Reply>('GET', `/jobs/${id}/result?timeoutMs=200`)
  assert.equal(early.status, 504, JSON.stringify(early.json))
  assert.equal(early.json.error?.name, 'AbortedError')
  assert.equal(early.json.ok, undefined)

  const waited = await peer!.call<Reply>('POST', '/jobs?wait=1&timeoutMs=200', { type: 'sleep', input: { ms: 3000 } })
  assert.equal(waited.status, 504, JSON.stringify(waited.json))
  assert.equal(waited.json.error?.name, 'AbortedError')

  const batch = await peer!.call<Reply>('POST', '/jobs/batch?wait=1&timeoutMs=200', { jobs: [{ type: 'sleep', input: { ms: 3000 } }] })
  assert.equal(batch.status, 200)
  const entry = batch.json.results![0]!
  assert.ok(entry.id !== undefined, `the batch entry keeps its id: ${JSON.stringify(entry)}`)
  assert.equal(entry.ok, undefined)
  assert.equal(entry.error?.name, 'AbortedError')

  const later = await peer!.call<Reply>('GET', `/jobs/${id}/result?timeoutMs=30000`)
  assert.equal(later.status, 200, JSON.stringify(later.json))
  assert.equal(later.json.ok, true)
})

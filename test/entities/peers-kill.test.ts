// Goal: persistent entities survive kill -9 of the peer that owns most of them. Three CLI peers
// load a persistent counter entity with --actors; 1,000 keys are incremented through the HTTP API
// of all three peers (each increment has an id, and a client retries one whose answer it did not
// get, as the API's at-least-once contract asks); midway the peer hosting the most activations
// (GET /entities) is killed with SIGKILL. Afterwards every key's count, read through each live
// peer, equals the number of distinct acknowledged increments of that key.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Peer, startCluster, waitFor } from '../helpers/peers.js'
import { fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const MODULE = fixture(join(sourceDir(import.meta.dirname), '..', 'fixtures', 'entities-module.ts'))
const KEYS = Number(process.env.DX_ENTITY_KEYS ?? 1000)
const ROUNDS = 1
const CONCURRENCY = 64
const peers: Peer[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

interface EntitiesDoc {
  peers: Array<{ node: string; entities: Array<{ type: string; key: string }> }>
}

test('1,000 persistent counters keep every acknowledged increment across kill -9 of the busiest owner', { timeout: 400_000 }, async () => {
  const started = Date.now()
  dir = await mkdtemp(join(tmpdir(), 'dx-entities-'))
  await startCluster(dir, 3, peers, { actors: MODULE })
  await waitFor(
    () => Promise.all(peers.map((p) => p.status())),
    (all) => all.every((s) => s !== undefined && s.members.filter((m) => m.voter === true).length === 3),
    120_000,
    'three voters',
  )
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  console.log(`# cluster formed in ${Date.now() - started} ms`)

  const acked = new Map<string, Set<string>>()
  const work: Array<{ key: string; id: string }> = []
  for (let round = 0; round < ROUNDS; round++) for (let k = 0; k < KEYS; k++) work.push({ key: `k${k}`, id: `${round}` })
  let next = 0
  let done = 0
  let retries = 0
  let killed: Peer | undefined
  let killing = false
  const live = (): Peer[] => peers.filter((p) => p.running)
  const deadline = Date.now() + 240_000
  const increment = async (item: { key: string; id: string }, attempt: number): Promise<void> => {
    const choices = live()
    if (choices.length === 0 || Date.now() > deadline) throw new Error(`gave up on ${item.key}/${item.id} after ${attempt} attempts (${done} increments done)`)
    const peer = choices[(next + attempt) % choices.length]!
    try {
      const res = await peer.call<{ ok?: boolean; value?: number; error?: { code: string } }>('POST', `/entities/counter/${item.key}`, {
        message: { type: 'inc', id: item.id },
        timeoutMs: 10_000,
      })
      if (res.status === 200 && res.json.ok === true) {
        const set = acked.get(item.key) ?? new Set<string>()
        set.add(item.id)
        acked.set(item.key, set)
        return
      }
    } catch {
      // The peer died under the request: the increment may or may not have been applied; retry it.
    }
    retries++
    await new Promise((r) => setTimeout(r, 100))
    return increment(item, attempt + 1)
  }
  const worker = async (): Promise<void> => {
    while (next < work.length) {
      const item = work[next++]!
      await increment(item, 0)
      done++
      if (done % 200 === 0) console.log(`# ${done} increments, ${retries} retries, ${Date.now() - started} ms`)
      if (!killing && done >= work.length / 2) {
        killing = true
        const doc = (await peers[0]!.call<EntitiesDoc>('GET', '/entities')).json
        const counts = doc.peers.map((p) => ({ node: p.node, n: p.entities.length }))
        const busiest = counts.sort((a, b) => b.n - a.n)[0]!
        killed = peers[ids.indexOf(busiest.node)]!
        if (killed.running) {
          console.log(`# killing ${busiest.node} with ${busiest.n} activations (${counts.map((c) => `${c.node.slice(-6)}:${c.n}`).join(' ')}) after ${done} increments`)
          await killed.kill()
        }
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  assert.ok(killed !== undefined && !killed.running, 'the busiest owner was killed midway')

  const wrong: string[] = []
  for (const peer of live()) {
    for (let k = 0; k < KEYS; k += 1) {
      if (k % 2 !== live().indexOf(peer)) continue
      const key = `k${k}`
      const res = await peer.call<{ ok: boolean; value: number }>('POST', `/entities/counter/${key}`, { message: { type: 'get' }, timeoutMs: 10_000 })
      const expected = acked.get(key)?.size ?? 0
      if (res.json.value !== expected) wrong.push(`${key}: ${JSON.stringify(res.json)} expected ${expected}`)
    }
  }
  assert.deepEqual(wrong, [])
  const total = [...acked.values()].reduce((n, s) => n + s.size, 0)
  assert.equal(total, KEYS * ROUNDS)
  console.log(`# ${total} acknowledged increments over ${KEYS} keys, ${retries} retries, ${Date.now() - started} ms`)
})

// Goal: a watch of an entity ref works between real peers over libp2p and reports the loss of the
// activation's owner: three CLI peers load a module whose `watcher` entities watch `target`
// entities; after kill -9 of a target's owner, a watcher on another live peer hears `failed-over`
// within the cluster's failure-detection bound (the connection closing is usually the first sign;
// the detector declares the peer down within suspicion plus downAfterMs), and the next message
// activates the target on a live peer.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Peer, startCluster, waitFor } from '../helpers/peers.js'
import { fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const MODULE = fixture(join(sourceDir(import.meta.dirname), '..', 'fixtures', 'entity-watch-module.ts'))
/** The cluster's failure detection: suspicion (phi over ~1 s heartbeats) plus downAfterMs (3 s), with slack for a loaded machine. */
const DETECTION_BOUND_MS = 6000
const peers: Peer[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

async function ask<T>(peer: Peer, path: string, message: unknown): Promise<T | undefined> {
  try {
    const res = await peer.call<{ ok?: boolean; value?: T }>('POST', path, { message, timeoutMs: 5000 })
    return res.json.ok === true ? res.json.value : undefined
  } catch {
    return undefined
  }
}

test('kill -9 of an entity owner ends a remote watch with failed-over within the detection bound', { timeout: 300_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-entity-watch-'))
  await startCluster(dir, 3, peers, { actors: MODULE })
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  const where = async (type: string, key: string): Promise<string> =>
    waitFor(
      () => ask<string>(peers[0]!, `/entities/${type}/${key}`, { type: 'where' }),
      (node) => node !== undefined,
      30_000,
      `${type}/${key} answers`,
    ) as Promise<string>
  // Targets and watchers spread over the peers; pair each target with a watcher on another peer.
  const targets = new Map<string, string>()
  const watchers = new Map<string, string>()
  for (let k = 0; k < 12; k++) {
    targets.set(`t${k}`, await where('target', `t${k}`))
    watchers.set(`w${k}`, await where('watcher', `w${k}`))
  }
  const victim = [...targets.values()].find((owner) => [...watchers.values()].some((w) => w !== owner))!
  assert.ok(victim !== undefined, 'a target owner with a watcher elsewhere')
  const watched = [...targets].filter(([, owner]) => owner === victim).map(([key]) => key)
  const observers = [...watchers].filter(([, owner]) => owner !== victim).map(([key]) => key)
  for (const w of observers) for (const t of watched) assert.equal(await ask(peers[0]!, `/entities/watcher/${w}`, { type: 'watch', key: t }), true)
  // Nothing ends while the owner lives.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const survivor = peers[ids.indexOf(victim) === 0 ? 1 : 0]!
  for (const w of observers) assert.deepEqual(await ask(survivor, `/entities/watcher/${w}`, { type: 'heard' }), [])

  const killedAt = Date.now()
  await peers[ids.indexOf(victim)]!.kill()
  const heard = await waitFor(
    () => Promise.all(observers.map((w) => ask<Array<{ key: string; reason: string; atMs: number }>>(survivor, `/entities/watcher/${w}`, { type: 'heard' }))),
    (lists) => lists.every((l) => l !== undefined && l.length === watched.length),
    30_000,
    'every watcher heard every watched target end',
  )
  const latest = Math.max(...heard.flatMap((l) => l!.map((h) => h.atMs - killedAt)))
  for (const list of heard) assert.deepEqual(list!.map((h) => [h.key, h.reason]).sort(), watched.map((t) => [t, 'failed-over']).sort())
  assert.ok(latest <= DETECTION_BOUND_MS, `the last watcher heard ${latest} ms after the kill`)
  // The next message reaches the target on a live peer.
  const again = await waitFor(
    () => ask<string>(survivor, `/entities/target/${watched[0]!}`, { type: 'where' }),
    (node) => node !== undefined,
    30_000,
    'the target answers again',
  )
  assert.notEqual(again, victim)
  console.log(`# ${observers.length} watchers x ${watched.length} targets on ${victim}: failed-over heard within ${latest} ms of kill -9`)
})

// Goal: the receptionist works between real peers over libp2p, and forgets a peer killed with
// SIGKILL. Three CLI peers load an actors module whose `member` entities register themselves under
// the `members` key; 12 members are started through the HTTP API (the cluster places them). Every
// peer's receptionist then lists all 12; after kill -9 of the peer hosting the most, the listings of
// the two others drop exactly its members.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Peer, startCluster, waitFor } from '../helpers/peers.js'
import { fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const MODULE = fixture(join(sourceDir(import.meta.dirname), '..', 'fixtures', 'receptionist-module.ts'))
const MEMBERS = 12
const peers: Peer[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** What the receptionist of the peer hosting member `key` lists under `members`, and that member's address. */
async function listed(peer: Peer, key: string): Promise<{ self: string; refs: string[] } | undefined> {
  try {
    const res = await peer.call<{ ok?: boolean; value?: { self: string; refs: string[] } }>('POST', `/entities/member/${key}`, { message: { type: 'list' }, timeoutMs: 5000 })
    return res.json.ok === true ? { self: res.json.value!.self, refs: [...res.json.value!.refs].sort() } : undefined
  } catch {
    return undefined
  }
}

test('three real peers list every registered member; kill -9 of one drops its members from the others', { timeout: 300_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-receptionist-'))
  await startCluster(dir, 3, peers, { actors: MODULE })
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  const joined: string[] = []
  for (let k = 0; k < MEMBERS; k++) {
    const res = await peers[k % 3]!.call<{ ok?: boolean; value?: string }>('POST', `/entities/member/m${k}`, { message: { type: 'join' }, timeoutMs: 10_000 })
    assert.equal(res.json.ok, true, JSON.stringify(res.json))
    joined.push(res.json.value!)
  }
  const addresses = [...joined].sort()
  // Each member answers with its own peer's listing: ask all of them until all agree.
  await waitFor(
    () => Promise.all(Array.from({ length: MEMBERS }, (_, k) => listed(peers[k % 3]!, `m${k}`))),
    (lists) => lists.every((l) => l !== undefined && l.refs.join(' ') === addresses.join(' ')),
    30_000,
    'every peer lists all members',
  )
  const hostOf = (address: string): string => /^dx:\/\/([^/]+)\//.exec(address)![1]!
  const counts = ids.map((id) => addresses.filter((a) => hostOf(a) === id).length)
  assert.ok(counts.filter((n) => n > 0).length >= 2, `members spread over peers: ${counts.join(' ')}`)
  const victim = counts.indexOf(Math.max(...counts))
  await peers[victim]!.kill()
  const live = peers.filter((_, i) => i !== victim)
  // Members still on the survivors answer with their peer's listing: none of the killed peer's
  // members is in it (a member whose shard moved starts again elsewhere and registers anew).
  const survivorKeys = Array.from({ length: MEMBERS }, (_, k) => k).filter((k) => hostOf(joined[k]!) !== ids[victim])
  const answers = await waitFor(
    () => Promise.all(survivorKeys.map((k) => listed(live[k % 2]!, `m${k}`))),
    (lists) => lists.every((l) => l !== undefined && l.refs.includes(l.self) && !l.refs.some((a) => hostOf(a) === ids[victim])),
    30_000,
    "the survivors' listings drop the killed peer's members",
  )
  const hosts = new Set(answers.map((l) => hostOf(l!.self)))
  console.log(`# members per peer ${counts.join(' ')}; killed ${ids[victim]}; answers from ${hosts.size} survivors`)
})

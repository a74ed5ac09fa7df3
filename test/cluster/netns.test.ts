// Goal: the same cluster on separate hosts (network namespaces joined by a bridge, as root): peers
// form a cluster across real links; cutting the leader's link makes the others elect a new leader
// while the cut-off peer holds no lease; restoring the link converges on one leader. Observed
// through each peer's /status over a management link that the partition leaves intact.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { canUseNetns, setDataLink, setupHosts, teardownHosts, type Host } from '../helpers/netns.js'
import { Peer, agreedLeader, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const HOSTS = 3
const available = canUseNetns()
let dir: string
let hosts: Host[] = []
const peers: Peer[] = []

before(async () => {
  if (!available) return
  dir = await mkdtemp(join(tmpdir(), 'dx-netns-'))
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  await run(process.execPath, [BIN, 'token', '--out', join(dir, 'http.token')])
  hosts = setupHosts(HOSTS)
})

after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (available) teardownHosts(HOSTS)
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

test(
  'a partition made by cutting links elects a new leader on the majority side, and heals',
  { timeout: 180_000, skip: available ? false : 'needs root and iproute2 to create network namespaces' },
  async () => {
    for (const host of hosts) {
      const seed = peers.length === 0 ? [] : [await peers[0]!.address()]
      const p = new Peer({
        name: host.ns,
        netns: host.ns,
        host: host.dataIp,
        httpBind: '0.0.0.0',
        httpReach: host.mgmtIp,
        p2pPort: 7400,
        httpPort: 7401,
        dataDir: join(dir, host.ns),
        secretFile: join(dir, 'cluster.key'),
        httpTokenFile: join(dir, 'http.token'),
        bootstrap: seed,
      })
      peers.push(p)
      p.start()
      await p.address()
    }
    await waitFor(
      () => agreedLeader(peers),
      (l) => l !== undefined,
      60_000,
      'a leader across three hosts',
    )
    // A formed cluster: three voters (a joiner becomes one once its copy of the log caught up); while
    // one is still a worker, losing a voter leaves no majority, which is not what this test is about.
    await waitFor(
      () => Promise.all(peers.map((p) => p.status())),
      (all) => all.every((s) => s !== undefined && s.members.filter((m) => m.voter === true).length === 3),
      60_000,
      'three voters',
    )
    const leader = await waitFor(
      () => agreedLeader(peers),
      (l) => l !== undefined,
      60_000,
      'the leader of the formed cluster',
    )
    const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
    const leaderAt = ids.indexOf(leader!.nodeId)
    const cut = hosts[leaderAt]!
    const majority = peers.filter((_, i) => i !== leaderAt)

    setDataLink(cut, false)
    const next = await waitFor(
      () => Promise.all(majority.map((p) => p.status())),
      (all) =>
        all.every(
          (s) => s !== undefined && s.leader !== null && s.leader.nodeId !== leader!.nodeId && s.leader.epoch > leader!.epoch && s.leader.nodeId === all[0]!.leader!.nodeId,
        ),
      60_000,
      'a new leader on the majority side',
    ).then((all) => all[0]!)
    const isolated = await peers[leaderAt]!.status()
    assert.equal(isolated!.leading, false, 'the cut-off peer holds no lease')
    assert.ok(isolated!.members.filter((m) => m.state === 'up').length < 3, 'the cut-off peer no longer sees the others up')

    setDataLink(cut, true)
    const healed = await waitFor(
      () => agreedLeader(peers),
      (l) => l !== undefined,
      60_000,
      'one leader after the link comes back',
    )
    assert.equal(healed!.nodeId, next!.leader!.nodeId)
  },
)

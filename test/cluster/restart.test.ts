// Goal: a whole cluster stopped and started again on the same data directories comes back: kill -9
// of the leader, SIGTERM to the others, then all three started again with the same directories and
// bootstrap address elect a leader with every member `up` within 15 s, four times in a row. (Before
// the bounded voter set this left a restarted peer in `joining` for over a minute in two of four
// runs.) Peers on loopback, each started as the README says, from its own working directory with
// the default data directory and job log.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const ROUNDS = 4
const peers: Peer[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

test(
  `a whole cluster stopped (leader kill -9, others SIGTERM) and restarted on its directories has a leader with every member up within 15 s, ${ROUNDS} times`,
  { timeout: 600_000 },
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'dx-restart-'))
    await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
    const specs = []
    for (let i = 0; i < 3; i++) {
      const home = join(dir, `host${i}`)
      await mkdir(home)
      const p2pPort = await freePort()
      specs.push({ name: `p${i}`, cwd: home, dataDir: join(home, '.distributex', String(p2pPort)), secretFile: join(dir, 'cluster.key'), p2pPort, httpPort: await freePort() })
    }
    const founder = new Peer(specs[0]!)
    peers.push(founder)
    founder.start()
    const seed = await founder.address()
    for (const spec of specs.slice(1)) {
      const p = new Peer({ ...spec, bootstrap: [seed] })
      peers.push(p)
      p.start()
    }
    await waitFor(
      () => agreedLeader(peers),
      (l) => l !== undefined,
      30_000,
      'the first leader',
    )
    // A formed cluster: all three are voters (a joiner becomes one once its copy of the log caught up).
    await waitFor(
      () => Promise.all(peers.map((p) => p.status())),
      (all) => all.every((s) => s !== undefined && s.members.filter((m) => m.voter === true).length === 3),
      30_000,
      'three voters',
    )
    const restartMs: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // On a crowded host (the suite in parallel) a peer's /status can time out for a moment.
      const leader = (await waitFor(
        () => agreedLeader(peers),
        (l) => l !== undefined,
        15_000,
        `round ${round}: an agreed leader before the kill`,
      ))!
      const statuses = await waitFor(
        () => Promise.all(peers.map((p) => p.status())),
        (all) => all.every((s) => s !== undefined),
        15_000,
        `round ${round}: every peer's status`,
      )
      const ids = statuses.map((s) => s!.nodeId)
      await peers[ids.indexOf(leader.nodeId)]!.kill()
      await Promise.all(peers.map((p) => p.stop()))
      const started = Date.now()
      for (const p of peers) p.start()
      // The probe returns what each peer sees, so a timeout shows who is stuck where.
      const seen = await waitFor(
        async () => {
          const agreed = await agreedLeader(peers)
          const views = await Promise.all(
            peers.map(async (p) => (await p.status())?.members.map((m) => `${m.nodeId.slice(-6)}:${m.state}${m.voter === true ? '*' : ''}`).join(' ')),
          )
          return { agreed, views }
        },
        (v) => v.agreed !== undefined,
        15_000,
        `round ${round}: a leader with every member up after the restart`,
      )
      restartMs.push(Date.now() - started)
      assert.ok(seen.agreed!.epoch > leader.epoch, `round ${round}: a new epoch`)
    }
    console.log(`# restart to agreed leader with all up, ms: ${restartMs.join(', ')}`)
  },
)

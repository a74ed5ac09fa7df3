/**
 * Two builds in one cluster: N CLI peers on this machine (as `scale` starts them: one founder, the
 * others bootstrapping from it), build A at the even positions and B at the odd ones (`--b-even`
 * swaps them; the founder is always A, and left out of both means). Each peer's CPU from /proc
 * until every peer sees all N up under one leader, then CPU over an idle window and RSS at its end,
 * per build. A host whose speed moves 2x within an hour moves both builds alike here, where two
 * clusters run one after the other see different hosts; run it with the positions swapped too, as
 * the odd positions start first in each pair.
 *
 * `npm run bench -- mixed --bin-a PATH --bin-b PATH [--peers 50] [--idle-after-s 90] [--idle-s 60] [--b-even]`
 * (each PATH a built `dist/src/cli/bin.mjs`). Prints one JSON object on the last line.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Peer, clusterPeerSpec } from '../helpers/peers.js'
import { cpuSeconds, rssMb } from '../helpers/proc.js'

const { values } = parseArgs({
  options: {
    'bin-a': { type: 'string' },
    'bin-b': { type: 'string' },
    peers: { type: 'string', default: '50' },
    'formation-timeout-s': { type: 'string', default: '240' },
    'idle-after-s': { type: 'string', default: '90' },
    'idle-s': { type: 'string', default: '60' },
    'b-even': { type: 'boolean', default: false },
  },
})
const binA = values['bin-a']
const binB = values['bin-b']
if (binA === undefined || binB === undefined) throw new Error('usage: npm run bench -- mixed --bin-a PATH --bin-b PATH')
const n = Number(values.peers)
const bParity = values['b-even'] ? 0 : 1
const isB = (i: number): boolean => i > 0 && i % 2 === bParity

/** Mean of `xs` over the peers of one build (founder excluded), rounded. */
function byBuild(xs: number[], digits: number): { a: number; b: number } {
  const mean = (b: boolean): number => {
    const picked = xs.filter((_, i) => i > 0 && isB(i) === b)
    return Number((picked.reduce((s, x) => s + x, 0) / picked.length).toFixed(digits))
  }
  return { a: mean(false), b: mean(true) }
}

const dir = await mkdtemp(join(tmpdir(), 'dx-mixed-'))
const peers: Peer[] = []
try {
  execFileSync(process.execPath, [binA, 'secret', '--out', join(dir, 'cluster.key')])
  const spec = async (i: number, bootstrap: string[]) => ({ ...(await clusterPeerSpec(dir, i, bootstrap)), bin: isB(i) ? binB : binA })
  const started = performance.now()
  const founder = new Peer(await spec(0, []))
  peers.push(founder)
  founder.start()
  const seed = await founder.address()
  for (let i = 1; i < n; i++) {
    const peer = new Peer(await spec(i, [seed]))
    peers.push(peer)
    peer.start()
  }
  let formedS: number | null = null
  while (performance.now() - started < Number(values['formation-timeout-s']) * 1000) {
    const statuses = await Promise.all(peers.map((p) => p.status()))
    const leaders = new Set(statuses.map((s) => (s?.leader === null || s === undefined ? undefined : `${s.leader.nodeId}@${s.leader.epoch}`)))
    if (leaders.size === 1 && !leaders.has(undefined) && statuses.every((s) => s!.members.filter((m) => m.state === 'up').length >= n)) {
      formedS = Number(((performance.now() - started) / 1000).toFixed(1))
      break
    }
    await sleep(1000)
  }
  if (formedS === null) throw new Error(`${n} peers did not form within ${values['formation-timeout-s']} s`)
  const pids = peers.map((p) => p.pid!)
  const formation = pids.map(cpuSeconds)
  console.error(`formed in ${formedS} s; CPU s per peer to form, A / B: ${JSON.stringify(byBuild(formation, 3))}`)
  await sleep(Number(values['idle-after-s']) * 1000)
  const before = pids.map(cpuSeconds)
  const t0 = performance.now()
  await sleep(Number(values['idle-s']) * 1000)
  const seconds = (performance.now() - t0) / 1000
  const idle = pids.map((pid, i) => ((cpuSeconds(pid) - before[i]!) / seconds) * 100)
  console.log(
    JSON.stringify({
      bench: 'mixed',
      peers: n,
      b_at: values['b-even'] ? 'even' : 'odd',
      formation_s: formedS,
      formation_cpu_s_per_peer: byBuild(formation, 3),
      idle_cpu_pct_per_peer: byBuild(idle, 3),
      rss_mb_per_peer: byBuild(pids.map(rssMb), 1),
    }),
  )
} finally {
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
}

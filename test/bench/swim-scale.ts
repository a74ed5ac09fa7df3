// Scale curve of the SWIM membership core (src/cluster/swim/) in the deterministic simulation
// (sim/swim/harness.ts): N nodes joining over max(5 s, 10 ms·N), 1% loss, 1-10 ms latency; after
// formation and a 10 s settle, 10 s of steady cost (messages, wire bytes per node per second), then
// one crash (convergence: every live node marks it dead), then a partition into halves for 15 s that
// heals. Usage: npm run bench -- swim-scale [--nodes 50,200,1000] [--seed 1] [--partition-ms 15000]
import { runSwimSim } from '../../sim/swim/harness.js'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

const sizes = arg('nodes', '50,200,1000').split(',').map(Number)
const seed = Number(arg('seed', '1'))
const partitionMs = Number(arg('partition-ms', '15000'))
const rows = []
console.log(
  'nodes | formation s (missing pairs if never) | detection s | convergence s | false suspicions (events) | false deaths | partition deaths | heal s | msgs/node/s | B/node/s | max probe B | virtual s | wall s',
)
for (const nodes of sizes) {
  const r = runSwimSim({ nodes, seed, partitionMs })
  rows.push(r)
  const s = (ms: number | null): string => (ms === null ? 'never' : (ms / 1000).toFixed(2))
  console.log(
    [
      nodes,
      r.formationMs === null ? `never (${r.missingPairs})` : s(r.formationMs),
      s(r.detectionMs),
      s(r.convergenceMs),
      `${r.falseSuspicions} (${r.falseSuspicionEvents})`,
      r.falseDeaths,
      r.partitionDeaths,
      s(r.healMs),
      r.messagesPerNodeS.toFixed(2),
      r.bytesPerNodeS.toFixed(0),
      r.maxProbeBytes,
      s(r.virtualMs),
      s(r.wallMs),
    ].join(' | '),
  )
}
console.log(
  JSON.stringify({
    bench: 'swim-scale',
    seed,
    nodes: rows.map((r) => r.nodes),
    convergence_s: rows.map((r) => (r.convergenceMs === null ? null : Number((r.convergenceMs / 1000).toFixed(2)))),
    bytes_per_node_s: rows.map((r) => Math.round(r.bytesPerNodeS)),
    messages_per_node_s: rows.map((r) => Number(r.messagesPerNodeS.toFixed(2))),
    false_suspicions: rows.map((r) => r.falseSuspicions),
    false_deaths: rows.map((r) => r.falseDeaths),
    heal_s: rows.map((r) => (r.healMs === null ? null : Number((r.healMs / 1000).toFixed(2)))),
  }),
)

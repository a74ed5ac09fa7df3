// The fault campaign: `npm run chaos -- [--runs N] [--seconds S] [--seed X] [--peers 5] [--kafka | --loopback]`.
// Each run starts real peers (separate hosts in network namespaces by default, as root; on Kafka and
// Redis with --kafka), submits jobs while nemeses strike (test/chaos/campaign.ts), then
// checks the history. A run with a problem saves its history and nemesis schedule to
// chaos-failure-<seed>.json (replay with --seed). Last line:
// {"bench":"chaos","runs":N,"seconds":N,"faults":N,"acked":N,"lost":N,"duplicated":N,"unexpected":N,"recovery_ms_max":N,"unrecovered":N}
// (unrecovered: runs with no agreed leader within RECOVERY_BOUND_MS after the faults; failed: runs
// with any problem, each saved to chaos-failure-<seed>.json)
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { defaultSetup, runCampaign } from '../chaos/campaign.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    peers: { type: 'string', default: '5' },
    kafka: { type: 'boolean', default: false },
    loopback: { type: 'boolean', default: false },
  },
})
const setup = values.kafka ? 'kafka' : values.loopback ? 'loopback' : defaultSetup()
const runs = Number(values.runs)
const seconds = Number(values.seconds)
const firstSeed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed)
const total = { faults: 0, acked: 0, lost: 0, duplicated: 0, unexpected: 0, recoveryMsMax: 0, unrecovered: 0, failed: 0 }
for (let i = 0; i < runs; i++) {
  const seed = firstSeed + i
  const result = await runCampaign({ seed, seconds, peers: Number(values.peers), setup, log: (line) => console.error(`[seed ${seed}] ${line}`) })
  total.faults += result.faults
  total.acked += result.acked
  total.lost += result.lost
  total.duplicated += result.duplicated
  total.unexpected += result.unexpected
  total.recoveryMsMax = Math.max(total.recoveryMsMax, result.recoveryMs)
  if (result.recoveryMs < 0) total.unrecovered++
  console.error(
    `[seed ${seed}] faults ${result.faults}, acked ${result.acked}, lost ${result.lost}, duplicated ${result.duplicated}, unexpected ${result.unexpected}, recovery ${result.recoveryMs} ms`,
  )
  if (result.problems.length > 0) {
    total.failed++
    const file = `chaos-failure-${seed}.json`
    await writeFile(file, JSON.stringify(result, null, 1))
    console.error(`[seed ${seed}] ${result.problems.length} problems, first: ${result.problems.slice(0, 5).join(' | ')}; history and schedule in ${file}`)
  }
}
console.log(
  JSON.stringify({
    bench: 'chaos',
    setup,
    runs,
    seconds,
    faults: total.faults,
    acked: total.acked,
    lost: total.lost,
    duplicated: total.duplicated,
    unexpected: total.unexpected,
    recovery_ms_max: total.recoveryMsMax,
    unrecovered: total.unrecovered,
    failed: total.failed,
  }),
)
process.exit(total.failed === 0 ? 0 : 1)

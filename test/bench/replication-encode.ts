/**
 * CPU cost of encoding a leader's appends for its followers (issue 15): the same run of entries
 * sent to FOLLOWERS followers, packed per follower (`encodeReplication` each time, as the replicator
 * did) against packed once (`ReplicationEncoder`). Every round makes new entry objects, as new
 * proposals do, so the encoder packs each run once and reuses it for the other followers only.
 * CPU time (process.cpuUsage) per run, alternated A B A B; medians over ROUNDS. Options
 * (environment): SIZES (entries per append, comma-separated), PAYLOAD (bytes per entry, default
 * 220: a no-op job record), FOLLOWERS (2), ROUNDS (5).
 */
import { encodeReplication, ReplicationEncoder, type AppendMessage, type WireEntry } from '../../protocols/replication/codec.js'
import { appendOffset } from '../../protocols/replication/offsets.js'

const SIZES = (process.env.SIZES ?? '10,100,1000').split(',').map(Number)
const PAYLOAD = Number(process.env.PAYLOAD ?? 220)
const FOLLOWERS = Number(process.env.FOLLOWERS ?? 2)
const ROUNDS = Number(process.env.ROUNDS ?? 5)

function run(n: number): WireEntry[] {
  return Array.from({ length: n }, (_, i) => ({ index: 1000 + i, epoch: 3, offset: appendOffset(1000 + i), payloads: [new Uint8Array(PAYLOAD).fill(i & 255)] }))
}

function append(entries: WireEntry[], follower: number): AppendMessage {
  return { kind: 'append', epoch: 3, leaderCommit: 990 + follower, prevIndex: 999, prevEpoch: 3, entries }
}

/** CPU microseconds per run of entries sent to every follower. */
function measure(n: number, encode: (m: AppendMessage) => Uint8Array): number {
  const runs = Array.from({ length: Math.max(20, Math.round(100_000 / n)) }, () => run(n))
  const start = process.cpuUsage()
  let bytes = 0
  for (const entries of runs) for (let f = 0; f < FOLLOWERS; f++) bytes += encode(append(entries, f)).length
  const used = process.cpuUsage(start)
  if (bytes === 0) throw new Error('nothing encoded')
  return (used.user + used.system) / runs.length
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const result: Record<string, number> = {}
for (const n of SIZES) {
  const perFollower: number[] = []
  const once: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    perFollower.push(measure(n, encodeReplication))
    const encoder = new ReplicationEncoder()
    once.push(measure(n, (m) => encoder.encode(m)))
  }
  const a = median(perFollower)
  const b = median(once)
  console.error(`${n} entries x ${FOLLOWERS} followers: packed per follower ${a.toFixed(1)} us, packed once ${b.toFixed(1)} us (${(b / a).toFixed(2)}x)`)
  result[`ratio_${n}`] = Math.round((b / a) * 100) / 100
}
console.log(JSON.stringify({ bench: 'replication-encode', followers: FOLLOWERS, payload: PAYLOAD, ...result }))

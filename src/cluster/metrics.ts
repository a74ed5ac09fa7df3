/**
 * The cluster actor's metrics: members by state, the leader's epoch, leading, quiet, records in and
 * out, and SWIM's counts. Every figure is read at scrape time from what the actor published (its
 * snapshot, its counters, its SWIM core's view), never from the cluster core; the one histogram,
 * how old the changes gossip brings are, is observed as SWIM's events are taken (SwimPump).
 */
import type { Metrics } from '../env/types.js'
import type { ClusterHandle } from './handle.js'
import type { SwimStats } from './swim-pump.js'
import type { SwimCore } from './swim/core.js'

/** Seconds: SWIM spreads a change within a few periods (0.45-1 s each), a crash's death within 10 s (src/cluster/swim/core.ts). */
const CONVERGENCE_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32]

/** Member states, so that the members gauge reports zeros too. */
const MEMBER_STATES = ['joining', 'up', 'suspect', 'down', 'leaving'] as const

/** Counts of the gossip the actor takes in and sends. */
export class RecordStats {
  sent = 0
  received = 0
  invalid = 0
  /** How the records made went out: `sent` is topic + direct (fallback included in direct). */
  readonly paths = { topic: 0, direct: 0, fallback: 0, nobody: 0 }
}

export interface ClusterMetricsSources {
  readonly handle: ClusterHandle
  readonly records: RecordStats
  readonly swimStats: SwimStats
  /** With membership 'swim'. */
  readonly swim: SwimCore | undefined
}

export function registerClusterMetrics(metrics: Metrics, src: ClusterMetricsSources): void {
  const { handle, records, swimStats } = src
  metrics.counter('dx_cluster_records_total', 'Member records this node published (sent) and took in from others (received)', ['direction'], (set) => {
    set(records.sent, { direction: 'sent' })
    set(records.received, { direction: 'received' })
  })
  metrics.counter(
    'dx_cluster_record_paths_total',
    "This node's records by path: topic (to all), direct (point to point: a voter's to the voters, the leader's to every node), fallback (a target unreachable, so to all as well), nobody (no peer: not encoded)",
    ['path'],
    (set) => {
      for (const [path, n] of Object.entries(records.paths)) set(n, { path })
    },
  )
  metrics.counter('dx_cluster_invalid_records_total', 'Gossiped member records that failed to decode or were spoofed', [], (set) => set(records.invalid))
  metrics.counter('dx_cluster_foreign_records_total', 'Member records ignored because they belong to another cluster', [], (set) => set(handle.foreignRecords()))
  metrics.gauge('dx_cluster_members', 'Members this node knows, by state', ['state'], (set) => {
    const counts = new Map<string, number>(MEMBER_STATES.map((state) => [state, 0]))
    for (const m of handle.view()?.members ?? []) counts.set(m.state, (counts.get(m.state) ?? 0) + 1)
    for (const [state, n] of counts) set(n, { state })
  })
  metrics.gauge('dx_cluster_leader_epoch', 'Epoch of the leader this node knows (0: none)', [], (set) => set(handle.leader()?.epoch ?? 0))
  metrics.gauge('dx_cluster_leading', '1 while this node leads with a valid lease', [], (set) => set(handle.leaderEpoch() !== undefined ? 1 : 0))
  metrics.gauge(
    'dx_cluster_lag_seconds',
    "Largest recent gap this node saw in its own ticks or a voter's records beyond the gossip interval (decaying): it waits this much longer before it elects a new leader",
    [],
    (set) => set(handle.lagMs() / 1000),
  )
  metrics.gauge(
    'dx_cluster_lease_seconds',
    "Lease of the leader's newest sequence (granted, on the leader; waited out, on a follower): the lease, stretched while round trips to the voters are slow; after the leader dies no new one is elected sooner (0: no leader known)",
    [],
    (set) => set((handle.leaseMs() ?? 0) / 1000),
  )
  metrics.gauge('dx_cluster_quiet', '1 while this node hears no other member although it should (joining, or one of several members)', [], (set) =>
    set(handle.view()?.warning === undefined ? 0 : 1),
  )
  // SWIM's metrics exist in every mode (zeros with 'gossip'), so dashboards and the catalogue see one set.
  metrics.counter('dx_swim_messages_total', 'SWIM messages sent and received, by type (probes: ping; indirect probes: ping-req)', ['direction', 'type'], (set) => {
    for (const [type, n] of swimStats.sent) set(n, { direction: 'sent', type })
    for (const [type, n] of swimStats.received) set(n, { direction: 'received', type })
  })
  metrics.counter('dx_swim_bytes_total', 'Wire bytes of SWIM messages sent and received', ['direction'], (set) => {
    set(swimStats.bytes.sent, { direction: 'sent' })
    set(swimStats.bytes.received, { direction: 'received' })
  })
  metrics.counter('dx_swim_events_total', 'SWIM membership changes this node saw, by type (suspect: suspicions; alive: refutations heard)', ['type'], (set) => {
    for (const [type, n] of swimStats.events) set(n, { type })
  })
  swimStats.convergence = metrics.histogram(
    'dx_swim_convergence_seconds',
    "How long after a membership change was made (a join, suspicion, death, refutation or leave, where it was made) it changed this node's view: the times each node on the way held it, added up (no clocks compared). 0 where it was made; the largest across nodes is how long the cluster took to converge on it. Changes a full-state exchange brings are not timed",
    CONVERGENCE_BUCKETS,
    ['type'],
  )
  metrics.counter('dx_swim_invalid_messages_total', 'SWIM messages that failed to decode', [], (set) => set(swimStats.invalid))
  metrics.counter('dx_swim_send_refused_total', 'SWIM messages the network refused (peer not connected, or its queue full): lost like a dropped datagram', [], (set) =>
    set(swimStats.refused),
  )
  metrics.gauge('dx_swim_members', 'Members SWIM knows, by status (all zero with membership gossip)', ['status'], (set) => {
    const counts = new Map<string, number>([
      ['alive', 0],
      ['suspect', 0],
      ['dead', 0],
      ['left', 0],
    ])
    for (const m of src.swim?.view() ?? []) counts.set(m.status, (counts.get(m.status) ?? 0) + 1)
    for (const [status, n] of counts) set(n, { status })
  })
  metrics.gauge('dx_swim_health', 'Lifeguard local health score of this node (0: healthy; it stretches the probe period)', [], (set) => set(src.swim?.healthScore ?? 0))
}

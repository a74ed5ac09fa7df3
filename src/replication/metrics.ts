/**
 * The replicator's metrics: frames in and out, invalid frames, writes and failures of the local
 * replica log, the commit index and the log end. Counts are the actor's (ReplicationCounts, since it
 * started); the gauges read the current core at scrape time (zero while the log is reopened).
 */
import type { Metrics } from '../env/types.js'

/** Counts of the replicator's traffic and writes. */
export class ReplicationCounts {
  invalidFrames = 0
  failures = 0
  framesSent = 0
  framesReceived = 0
  writes = 0
}

/** The replication core's figures the gauges read, or undefined while there is none. */
export type LogFigures = () => { readonly commitEnd: number; readonly durable: number } | undefined

export function registerReplicationMetrics(metrics: Metrics, counts: ReplicationCounts, figures: LogFigures): void {
  metrics.counter('dx_replication_invalid_frames_total', 'Replication frames from peers that failed to decode', [], (set) => set(counts.invalidFrames))
  metrics.counter('dx_replication_log_failures_total', 'Failed writes of the local replica log (each followed by a reopen)', [], (set) => set(counts.failures))
  metrics.counter('dx_replication_frames_sent_total', 'Replication frames this node sent (appends, resets, replies)', [], (set) => set(counts.framesSent))
  metrics.counter('dx_replication_frames_received_total', 'Replication frames this node received', [], (set) => set(counts.framesReceived))
  metrics.counter('dx_replication_log_writes_total', 'Writes of entries to the local replica log, each ending with an fsync per write group', [], (set) => set(counts.writes))
  metrics.gauge('dx_replication_commit_index', 'One past the last committed entry this node knows', [], (set) => set(figures()?.commitEnd ?? 0))
  metrics.gauge('dx_replication_log_end', 'One past the last durable entry of this node', [], (set) => set(figures()?.durable ?? 0))
}

/**
 * Counters of the libp2p network binding. The hot paths bump plain numbers on one object; the
 * metric hooks read them at scrape time through `collect` callbacks, so a message never pays for a
 * metrics call.
 */
import type { Metrics } from '../../env/types.js'

/** Why `send` refused a message. */
export type RefusalReason = 'unreachable' | 'queue_full' | 'too_large' | 'bad_protocol'

export class MeshStats {
  messagesSent = 0
  messagesReceived = 0
  bytesWritten = 0
  bytesRead = 0
  /** Stream writes; messagesSent / writes is the coalescing factor. */
  writes = 0
  readonly refused: Record<RefusalReason, number> = { unreachable: 0, queue_full: 0, too_large: 0, bad_protocol: 0 }
  /** Bytes of queued frames dropped because their channel closed. */
  discardedBytes = 0
  unhandled = 0
  handlerErrors = 0
  protocolViolations = 0
  idleTimeouts = 0
  channelsOpened = 0
  redialAttempts = 0
  reconnects = 0
  published = 0
  publishFailures = 0
  topicMessagesReceived = 0
}

/** Live values read at scrape time. */
export interface MeshGauges {
  queuedBytes(): number
  peers(): number
}

/** Registers every metric of the binding, reading `stats` and `gauges` when scraped. */
export function registerMeshMetrics(metrics: Metrics, stats: MeshStats, gauges: MeshGauges): void {
  const counter = (name: string, help: string, read: () => number): void => {
    metrics.counter(name, help, [], (set) => set(read()))
  }
  counter('dx_net_frames_sent_total', 'DATA frames (messages) accepted by send for writing', () => stats.messagesSent)
  counter('dx_net_frames_received_total', 'DATA frames (messages) received from peers', () => stats.messagesReceived)
  counter('dx_net_bytes_written_total', 'Bytes written to mesh streams, frame headers included', () => stats.bytesWritten)
  counter('dx_net_bytes_read_total', 'Bytes read from mesh streams, frame headers included', () => stats.bytesRead)
  counter('dx_net_writes_total', 'Writes to mesh streams; each carries all frames one flush could send', () => stats.writes)
  metrics.counter('dx_net_send_refused_total', 'Messages send refused, by reason', ['reason'], (set) => {
    for (const [reason, count] of Object.entries(stats.refused)) set(count, { reason })
  })
  counter('dx_net_discarded_bytes_total', 'Queued bytes dropped because their channel closed', () => stats.discardedBytes)
  counter('dx_net_unhandled_total', 'Messages for a protocol without a handler, dropped', () => stats.unhandled)
  counter('dx_net_handler_errors_total', 'Message handlers that threw', () => stats.handlerErrors)
  counter('dx_net_protocol_violations_total', 'Mesh streams closed because the peer broke the frame protocol', () => stats.protocolViolations)
  counter('dx_net_idle_timeouts_total', 'Mesh streams closed because the peer went silent', () => stats.idleTimeouts)
  counter('dx_net_channels_opened_total', 'Mesh streams opened, in either direction', () => stats.channelsOpened)
  counter('dx_net_redial_attempts_total', 'Redial attempts to known peers', () => stats.redialAttempts)
  counter('dx_net_reconnects_total', 'Channels re-established to a peer after losing one', () => stats.reconnects)
  counter('dx_net_published_total', 'Topic broadcasts published', () => stats.published)
  counter('dx_net_publish_failures_total', 'Topic broadcasts that failed or were refused', () => stats.publishFailures)
  counter('dx_net_topic_messages_received_total', 'Topic broadcasts delivered to a handler', () => stats.topicMessagesReceived)
  metrics.gauge('dx_net_outbound_queue_bytes', 'Bytes queued for all peers, waiting for credit or the next flush', [], (set) => set(gauges.queuedBytes()))
  metrics.gauge('dx_net_peers', 'Peers with an open mesh stream', [], (set) => set(gauges.peers()))
}

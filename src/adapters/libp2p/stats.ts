/**
 * Counters of the libp2p network binding. The hot paths bump plain numbers on one object; the
 * metric hooks read them at scrape time through `collect` callbacks, so a message never pays for a
 * metrics call.
 */
import type { Metrics } from '../../env/types.js'
import type { GossipRpcStats } from './gossip-metrics.js'

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
  /** Per topic: broadcasts published and delivered, and their payload bytes. */
  readonly topics = new Map<string, TopicStats>()
  /** Gossipsub's own RPC traffic (envelopes, relayed copies and control included), filled by its metrics register. */
  readonly gossipRpc: GossipRpcStats = { sentBytes: 0, sentRpcs: 0, receivedBytes: 0, receivedRpcs: 0 }

  /** The counters of `topic`, created on first use. */
  topic(topic: string): TopicStats {
    let stats = this.topics.get(topic)
    if (stats === undefined) {
      stats = { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0 }
      this.topics.set(topic, stats)
    }
    return stats
  }
}

/** Gossip counters of one topic. */
export interface TopicStats {
  sent: number
  sentBytes: number
  received: number
  receivedBytes: number
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
  /** Collects one figure of every topic's counters, labelled by topic. */
  const perTopic =
    (read: (t: TopicStats) => number) =>
    (set: (value: number, labels?: { topic: string }) => void): void => {
      for (const [topic, t] of stats.topics) set(read(t), { topic })
    }
  metrics.counter(
    'dx_net_gossip_messages_sent_total',
    'Topic broadcasts this node published, by topic',
    ['topic'],
    perTopic((t) => t.sent),
  )
  metrics.counter(
    'dx_net_gossip_bytes_sent_total',
    'Payload bytes of topic broadcasts this node published, by topic (see dx_net_gossip_rpc_bytes_sent_total for the wire)',
    ['topic'],
    perTopic((t) => t.sentBytes),
  )
  metrics.counter(
    'dx_net_gossip_messages_received_total',
    'Topic broadcasts delivered to this node, by topic (each once, however many peers relayed it)',
    ['topic'],
    perTopic((t) => t.received),
  )
  metrics.counter(
    'dx_net_gossip_bytes_received_total',
    'Payload bytes of topic broadcasts delivered to this node, by topic',
    ['topic'],
    perTopic((t) => t.receivedBytes),
  )
  counter(
    'dx_net_gossip_rpc_bytes_sent_total',
    'Bytes of gossipsub RPCs sent: messages with envelope and signature, relayed copies, subscriptions and mesh control',
    () => stats.gossipRpc.sentBytes,
  )
  counter('dx_net_gossip_rpc_bytes_received_total', 'Bytes of gossipsub RPCs received, duplicates and control included', () => stats.gossipRpc.receivedBytes)
  counter('dx_net_gossip_rpcs_sent_total', 'Gossipsub RPCs sent', () => stats.gossipRpc.sentRpcs)
  counter('dx_net_gossip_rpcs_received_total', 'Gossipsub RPCs received', () => stats.gossipRpc.receivedRpcs)
  metrics.gauge('dx_net_outbound_queue_bytes', 'Bytes queued for all peers, waiting for credit or the next flush', [], (set) => set(gauges.queuedBytes()))
  metrics.gauge('dx_net_peers', 'Peers with an open mesh stream', [], (set) => set(gauges.peers()))
}

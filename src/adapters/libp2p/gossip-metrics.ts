/**
 * Wire-level gossip counters. Gossipsub reports its RPC traffic (our messages with their envelope
 * and signature, every relayed copy, subscriptions and mesh control) only through its metrics
 * register; this register keeps just the four RPC totals and makes every other gossipsub metric a
 * no-op, so the cost of the membership protocol shows on /metrics without a Prometheus client in
 * the adapter.
 */
import type { AvgMinMax, Gauge, Histogram, MetricsRegister } from '@chainsafe/libp2p-gossipsub/metrics'

/** RPC totals of one node's gossipsub, all topics together. */
export interface GossipRpcStats {
  sentBytes: number
  sentRpcs: number
  receivedBytes: number
  receivedRpcs: number
}

const KEPT: Record<string, keyof GossipRpcStats> = {
  gossipsub_rpc_sent_bytes_total: 'sentBytes',
  gossipsub_rpc_sent_count_total: 'sentRpcs',
  gossipsub_rpc_recv_bytes_total: 'receivedBytes',
  gossipsub_rpc_recv_count_total: 'receivedRpcs',
}

const noop = (): void => {}

/** A register that adds gossipsub's RPC byte and count totals into `stats` and ignores the rest. */
export function gossipMetricsRegister(stats: GossipRpcStats): MetricsRegister {
  return {
    gauge<L extends Record<string, string | number>>(config: { name: string }): Gauge<L> {
      const key = KEPT[config.name]
      // Gossipsub calls inc(value) on these unlabelled totals; labelled gauges pass (labels, value).
      const inc = key === undefined ? noop : (value?: unknown) => void (stats[key] += typeof value === 'number' ? value : 1)
      return { inc, set: noop, addCollect: noop } as unknown as Gauge<L>
    },
    histogram<L extends Record<string, string | number>>(): Histogram<L> {
      return { startTimer: () => noop, observe: noop, reset: noop } as unknown as Histogram<L>
    },
    avgMinMax<L extends Record<string, string | number>>(): AvgMinMax<L> {
      return { set: noop } as unknown as AvgMinMax<L>
    },
  }
}

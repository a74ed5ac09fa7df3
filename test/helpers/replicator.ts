/**
 * Stand-ins for the replicator actor's surroundings in single-process tests: a replica log that
 * holds nothing but hands each write to the test, a network that accepts every send, and a cluster
 * handle that leads epoch 1 of a fixed configuration unless the test overrides a method.
 */
import type { ClusterHandle } from '../../src/cluster/handle.js'
import type { Network } from '../../src/net/types.js'
import type { ReplicaEntry, ReplicaLog, ReplicaLogOpener } from '../../src/storage/types.js'

/** An empty replica log whose writes go to `write` (which may hold them back). */
export function fakeReplicaOpener(write: (entries: readonly ReplicaEntry[]) => Promise<void>): ReplicaLogOpener {
  return {
    open: async () =>
      ({
        state: () => ({ clusterId: 'c', start: 0, end: 0, lastEpoch: 0 }),
        epochAt: () => undefined,
        setClusterId: async () => {},
        write: async (_from: number, entries: readonly ReplicaEntry[]) => write(entries),
        read: async () => [],
        compact: async () => {},
        reset: async () => {},
        close: async () => {},
      }) satisfies ReplicaLog,
  }
}

/** A network of node-a alone that accepts every send. */
export function fakeNetwork(): Network {
  return { self: 'node-a', handle: () => {}, unhandle: () => {}, send: () => true } as unknown as Network
}

/** A cluster handle where node-a leads epoch 1 of `members`; `overrides` replace its methods. */
export function fakeCluster(members: readonly string[], overrides: Partial<Record<'leaderEpoch' | 'leadingEpoch', () => number | undefined>> = {}): ClusterHandle {
  const config = { epoch: 1, counter: 1, members, workers: [] }
  return {
    clusterId: () => 'c',
    config: () => config,
    leaderEpoch: () => 1,
    leadingEpoch: () => 1,
    leader: () => ({ nodeId: 'node-a', epoch: 1 }),
    view: () => undefined,
    setLogPosition: () => {},
    setCommitIndex: () => {},
    setLogMatches: () => {},
    resign: () => {},
    onLeadershipChange: () => () => {},
    ...overrides,
  } as unknown as ClusterHandle
}

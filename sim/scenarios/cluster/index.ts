/**
 * The `cluster` scenario: every node runs the real cluster actor (membership, failure detection,
 * gossip election with leases) over the simulated network, with n0 founding the cluster and the
 * others joining it. Whichever node leads runs a duty that fences the job log with its epoch and
 * appends to it while its lease holds.
 *
 * Invariants (online): at most one node makes accepted log appends per epoch, and accepted epochs
 * never decrease; a node's persisted epoch never goes backwards, across restarts; at no instant do
 * two nodes hold a valid lease; no configuration any node holds has more voters than the target (the
 * `voters` option, else 5); with synthetic log positions (`logPositions`), no leader is elected
 * while a majority of the voters that elected it are more up to date. Liveness: after the final heal, within the stated bound, every node is
 * up in the configuration (a voter or a worker), all agree on one leader and epoch, the leader holds
 * its lease and has the target number of voters (or every node, if fewer), and every node sees
 * every other as up.
 */
import { CLUSTER_STATE_KEY, clusterActor } from '../../../actors/cluster.js'
import { ClusterHandle } from '../../../src/cluster/handle.js'
import type { ActorRef, Message } from '../../../src/actor/types.js'
import { createActorSystem } from '../../../src/actor/system.js'
import type { ClusterOptions } from '../../../src/cluster/core.js'
import { compareLogs } from '../../../src/cluster/core.js'
import { emptyMetrics, type LogPosition } from '../../../src/cluster/types.js'
import { decodeState } from '../../../protocols/cluster/codec.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'
import { leaderDuty } from './duty.js'

/** Deliberate bugs, for proving that the checkers catch them. */
export type ClusterBug = 'forget-epoch' | 'unsafe-lease'

/** Options of the cluster scenario. */
export interface ClusterScenarioInit {
  options?: Partial<ClusterOptions>
  bugs?: readonly ClusterBug[]
  dutyIntervalMs?: number
  /** Liveness bound after the final heal. */
  convergeBoundMs?: number
  /**
   * Gives every node a fixed synthetic replica-log position (from its index), so that the
   * 'leader-up-to-date' invariant checks the election's up-to-date rule.
   */
  logPositions?: boolean
}

/** The synthetic log position of node n<i>: fixed, so a leader must be at least as up to date as a majority. */
export function syntheticLogPosition(index: number): LogPosition {
  return { epoch: (index * 7) % 3, index: (index * 5) % 4 }
}

/** What one node incarnation exposes to the checkers. */
export interface ClusterApp {
  readonly handle: ClusterHandle
  /** A graceful leave; true once the node is out of the configuration (or nobody is left to remove it). */
  leave(): Promise<boolean>
}

const FOUNDER = 'n0'

export function clusterScenario(init: ClusterScenarioInit = {}): Scenario<ClusterApp> {
  const epochOwner = new Map<number, string>()
  const diskEpochs = new Map<string, number>()
  let checkedAppends = 0
  let maxEpochAccepted = 0
  let leaderChanges = 0
  let hooked = false
  const leadersChecked = new Set<string>()

  return {
    name: 'cluster',
    boot(ctx, world) {
      if (!hooked) {
        hooked = true
        for (const node of world.nodes) {
          node.disk.onWrite = (key, value) => {
            if (key !== CLUSTER_STATE_KEY) return
            const epoch = decodeState(value).epoch
            const before = diskEpochs.get(node.id) ?? 0
            if (epoch < before) world.violate('epoch-monotonic', `${node.id} persisted epoch ${epoch} after ${before}`)
            diskEpochs.set(node.id, epoch)
          }
        }
      }
      const system = createActorSystem({ env: ctx.env, nodeId: ctx.id })
      const handle = new ClusterHandle()
      const bugs = new Set(init.bugs ?? [])
      // 'forget-epoch': the node boots as if its disk were empty; 'unsafe-lease': n0 believes its lease lasts 3x longer than followers wait.
      const store = bugs.has('forget-epoch') ? { read: async () => undefined, write: ctx.store.write } : ctx.store
      const options = bugs.has('unsafe-lease') && ctx.id === FOUNDER ? { ...init.options, leaseMs: 3 * (init.options?.leaseMs ?? 1000) } : init.options
      const cluster = system.spawnSystem(
        // No actor traffic here: every link the plan no longer wants may be hung up, as on a peer.
        clusterActor({
          network: ctx.network,
          store,
          founder: ctx.id === FOUNDER,
          handle,
          metrics: emptyMetrics,
          linksInUse: () => () => false,
          ...(options === undefined ? {} : { options }),
        }),
        { name: 'cluster' },
      )
      if (init.logPositions === true) handle.setLogPosition(syntheticLogPosition(ctx.index))
      let duty: ActorRef<Message> | undefined
      handle.onLeadershipChange((leading, epoch) => {
        leaderChanges++
        if (duty !== undefined) void system.stop(duty)
        duty =
          leading && epoch !== undefined
            ? (system.spawnSystem(leaderDuty({ epoch, jobLog: ctx.jobLog, handle, intervalMs: init.dutyIntervalMs ?? 500 })) as ActorRef<Message>)
            : undefined
      })
      return { handle, leave: () => cluster.ask({ type: 'leave' }, { timeoutMs: 30_000 }) }
    },
    invariants: [
      {
        name: 'one-leader-per-epoch',
        check(world) {
          const accepted = world.jobLog.accepted
          for (; checkedAppends < accepted.length; checkedAppends++) {
            const a = accepted[checkedAppends]!
            const owner = epochOwner.get(a.epoch)
            if (owner !== undefined && owner !== a.node) return `epoch ${a.epoch}: appends accepted from ${owner} and ${a.node}`
            epochOwner.set(a.epoch, a.node)
            if (a.epoch < maxEpochAccepted) return `append of epoch ${a.epoch} accepted after epoch ${maxEpochAccepted}`
            maxEpochAccepted = a.epoch
          }
          return undefined
        },
      },
      {
        name: 'voters-bounded',
        check(world, index) {
          if (index === undefined) return undefined
          const config = world.nodes[index]!.app?.handle.view()?.config
          const most = init.options?.voters ?? 5
          return config !== null && config !== undefined && config.members.length > most
            ? `${world.nodes[index]!.id} holds ${config.members.length} voters (${config.members.join(' ')}), more than ${most}`
            : undefined
        },
      },
      {
        // Every voter that voted for the leader had a log no more up to date than the leader's, and
        // they are a majority: fewer than a majority of the voters it was elected by can be ahead of
        // it. Checked when the lease is first seen, while the configuration is still the one of the
        // election (its version predates the leader's epoch: the leader has changed nothing yet).
        name: 'leader-up-to-date',
        check(world, index) {
          if (init.logPositions !== true || index === undefined) return undefined
          const node = world.nodes[index]!
          const epoch = node.app?.handle.leaderEpoch()
          const config = node.app?.handle.view()?.config
          if (epoch === undefined || config === null || config === undefined || config.epoch >= epoch || leadersChecked.has(`${node.id}@${epoch}`)) return undefined
          leadersChecked.add(`${node.id}@${epoch}`)
          const own = syntheticLogPosition(index)
          const ahead = config.members.filter((m) => compareLogs(syntheticLogPosition(world.node(m).index), own) > 0)
          return ahead.length >= Math.floor(config.members.length / 2) + 1
            ? `${node.id} leads epoch ${epoch} with log ${JSON.stringify(own)} behind a majority: ${ahead.join(' ')}`
            : undefined
        },
      },
      {
        name: 'lease-exclusive',
        check(world, index) {
          if (index === undefined) return undefined
          const epoch = world.nodes[index]!.app?.handle.leaderEpoch()
          if (epoch === undefined) return undefined
          for (const other of world.nodes) {
            if (other.index === index || other.app === undefined) continue
            const otherEpoch = other.app.handle.leaderEpoch()
            if (otherEpoch !== undefined) return `n${index} (epoch ${epoch}) and ${other.id} (epoch ${otherEpoch}) both hold a lease`
          }
          return undefined
        },
      },
    ],
    liveness: {
      boundMs: init.convergeBoundMs ?? 10_000,
      check: (world) => converged(world, init.options?.voters),
    },
    final: [],
    summary(world) {
      const epochs = [...epochOwner.keys()]
      return `leadership: ${leaderChanges} changes, ${epochs.length} epochs with effects (max ${Math.max(0, ...epochs)}), ${world.jobLog.records.length} leader appends accepted`
    },
  }
}

/** Undefined when the cluster has one agreed leader with a lease and every node sees every other up. */
function converged(world: World<ClusterApp>, voters: number | undefined): string | undefined {
  let agreed: string | undefined
  for (const node of world.nodes) {
    const view = node.app?.handle.view()
    if (view === undefined || node.owner.status !== 'up') return `${node.id} is not running`
    if (view.config?.members.includes(node.id) !== true && view.config?.workers.includes(node.id) !== true) return `${node.id} is not a member`
    if (view.leader === null) return `${node.id} knows no leader`
    const leader = `${view.leader.nodeId}@${view.leader.epoch}`
    if (agreed !== undefined && agreed !== leader) return `leaders disagree: ${agreed} vs ${leader}`
    agreed = leader
    for (const m of view.members) {
      if (m.state !== 'up') return `${node.id} sees ${m.nodeId} ${m.state}`
    }
    if (view.members.length !== world.nodes.length) return `${node.id} sees ${view.members.length} members`
  }
  const leaderId = agreed!.split('@')[0]!
  const leader = world.node(leaderId).app!.handle
  if (leader.leaderEpoch() === undefined) return `${leaderId} leads without a lease`
  const target = Math.min(world.nodes.length, voters ?? (world.nodes.length >= 5 ? 5 : 3))
  const config = leader.view()!.config!
  if (config.members.length !== target) return `${config.members.length} voters (${config.members.join(' ')}), not ${target}`
  return undefined
}

/**
 * The simulator part of the scale bench (test/bench/scale.ts): the real cluster actor on `nodes`
 * simulated nodes, n0 founding and the rest joining at once. Measures, in virtual time: formation
 * (every node admitted, one agreed leader with its lease, every node seeing every other up), then
 * kills the leader and measures failover (every survivor agrees on a new leader with a lease) and
 * detection (every survivor sees the dead one as suspect or down); gossip payload bytes and messages
 * per node per second over the idle stretch between the two; safety invariants hold throughout.
 */
import { runSimulation } from '../../sim/run.js'
import { clusterScenario, type ClusterApp } from '../../sim/scenarios/cluster/index.js'
import type { World } from '../../sim/world.js'

export interface SimScaleResult {
  nodes: number
  formation_s: number | null
  failover_ms: number | null
  /** Crash until every survivor sees the leader as suspect or down. */
  convergence_s: number | null
  /** Messages delivered (point to point and topic) per survivor from the crash until failover: what an election costs every node. */
  failover_messages_per_node: number | null
  /** Topic payload bytes per survivor over the same stretch (each receiver counted). */
  failover_topic_bytes_per_node: number | null
  gossip_bytes_per_node_s: number | null
  messages_per_node_s: number | null
  violations: number
  wall_s: number
}

const POLL_MS = 50

/** What the network carried: topic payload bytes (each receiver counted) and messages delivered. */
interface Traffic {
  bytes: number
  delivered: number
}

export async function simScale(nodes: number, seed = 1): Promise<SimScaleResult> {
  const base = clusterScenario()
  const r = {
    formedAt: undefined as number | undefined,
    crashAt: undefined as number | undefined,
    failoverAt: undefined as number | undefined,
    detectedAt: undefined as number | undefined,
  }
  const idle = { bytes: 0, delivered: 0, seconds: 0 }
  /** Traffic from the crash until failover. */
  const election: Traffic = { bytes: 0, delivered: 0 }
  const durationMs = 40_000
  const scenario = {
    ...base,
    workload(world: World<ClusterApp>) {
      const stats = world.network.stats
      const traffic = (since: Traffic = { bytes: 0, delivered: 0 }): Traffic => ({ bytes: stats.topicBytes - since.bytes, delivered: stats.delivered - since.delivered })
      let atCrash = traffic()
      let victim = ''
      let oldEpoch = 0
      const afterCrash = (): void => {
        const now = world.nowMs
        const next = formed(world, victim)
        if (r.failoverAt === undefined && next !== undefined && next.epoch > oldEpoch) {
          r.failoverAt = now
          Object.assign(election, traffic(atCrash))
        }
        if (r.detectedAt === undefined && detected(world, victim)) r.detectedAt = now
        if ((r.failoverAt === undefined || r.detectedAt === undefined) && now + POLL_MS < durationMs) world.at(now + POLL_MS, afterCrash)
      }
      const untilFormed = (): void => {
        const now = world.nowMs
        if (formed(world, undefined) === undefined) {
          if (now + POLL_MS < durationMs) world.at(now + POLL_MS, untilFormed)
          return
        }
        r.formedAt = now
        // Idle cost over 5 s, after 2 s for the last admissions' records to settle; then the crash.
        world.at(now + 2000, () => {
          const [before, from] = [traffic(), world.nowMs]
          world.at(from + 5000, () => {
            Object.assign(idle, { ...traffic(before), seconds: (world.nowMs - from) / 1000 })
            const leader = formed(world, undefined) ?? world.nodes[0]!.app!.handle.view()!.leader!
            victim = leader.nodeId
            oldEpoch = leader.epoch
            r.crashAt = world.nowMs
            atCrash = traffic()
            world.crash(world.node(victim))
            world.at(world.nowMs + POLL_MS, afterCrash)
          })
        })
      }
      world.at(POLL_MS, untilFormed)
    },
  }
  const started = performance.now()
  const result = await runSimulation(scenario, { seed, nodes, durationMs, faults: [], mode: 'safety', swarm: false })
  const idleS = idle.seconds
  const measured = idleS > 0
  return {
    nodes,
    formation_s: r.formedAt === undefined ? null : r.formedAt / 1000,
    failover_ms: r.failoverAt === undefined || r.crashAt === undefined ? null : r.failoverAt - r.crashAt,
    convergence_s: r.detectedAt === undefined || r.crashAt === undefined ? null : (r.detectedAt - r.crashAt) / 1000,
    failover_messages_per_node: r.failoverAt === undefined ? null : Math.round(election.delivered / (nodes - 1)),
    failover_topic_bytes_per_node: r.failoverAt === undefined ? null : Math.round(election.bytes / (nodes - 1)),
    gossip_bytes_per_node_s: measured ? Math.round(idle.bytes / nodes / idleS) : null,
    messages_per_node_s: measured ? Math.round(idle.delivered / nodes / idleS) : null,
    violations: result.violations.length,
    wall_s: Math.round((performance.now() - started) / 100) / 10,
  }
}

/** The leader every running node other than `except` agrees on, with a lease, while each sees all the others up; else undefined. */
function formed(world: World<ClusterApp>, except: string | undefined): { nodeId: string; epoch: number } | undefined {
  let agreed: { nodeId: string; epoch: number } | undefined
  const live = world.nodes.filter((n) => n.id !== except)
  for (const node of live) {
    const view = node.app?.handle.view()
    if (view === undefined || view.leader === null) return undefined
    if (agreed !== undefined && (agreed.nodeId !== view.leader.nodeId || agreed.epoch !== view.leader.epoch)) return undefined
    agreed = view.leader
    if (except === undefined && view.members.some((m) => m.state !== 'up')) return undefined
    if (except === undefined && view.members.length !== world.nodes.length) return undefined
  }
  if (agreed === undefined || world.node(agreed.nodeId).app?.handle.leaderEpoch() === undefined) return undefined
  return agreed
}

/** True once every running node other than `dead` sees it as suspect or down. */
function detected(world: World<ClusterApp>, dead: string): boolean {
  return world.nodes.every((n) => n.id === dead || n.app?.handle.view()?.members.some((m) => m.nodeId === dead && (m.state === 'suspect' || m.state === 'down')) === true)
}

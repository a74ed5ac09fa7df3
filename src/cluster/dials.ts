/**
 * Which members the cluster actor dials, and when. Sans-I/O: the actor starts the dials this
 * returns and reports each one's end.
 *
 * Urgent ones first, up to DIALS_IN_FLIGHT_MAX at a time: the leader, on a voter the other voters
 * (elections and leases need them), on a worker one voter, on the leader the joiners it must admit,
 * and any member traffic needs (the cluster actor's `want`: an actor message to a node not
 * connected yet). The rest of the mesh (every other member heard of) only once this node is an
 * admitted member whose event loop keeps up (MESH_LAG_MAX_MS), MESH_DIALS_IN_FLIGHT at a time.
 * Each member at most once per REDIAL_MS.
 *
 * The mesh stays full: SWIM probes only connected members, and a member held dead by a node that
 * never connects to it would stay dead in that node's view (a partial mesh of 6 links per node,
 * tried on 2026-11-30, left one peer of 30 seeing a live member down for a minute after a
 * failover). A partial mesh needs SWIM to probe unconnected members through connected ones first.
 *
 * Why paced: when N nodes bootstrap together, unpaced dialing starts N² handshakes across the
 * cluster at once (noise, identify, gossipsub and the mesh stream on both sides), and on one host
 * that starves the admissions and leases that formation needs (30 peers: both cores busy with them
 * for tens of seconds, leaders lost; 50 never formed). Formation needs only every node's link to
 * the leader (and the voters' among themselves), and SWIM probes only the members a node is
 * connected to (src/cluster/swim/core.ts, "Reachability"), so links not yet made raise no
 * suspicion; actor messages open the links they need at once.
 */
import { hash32 } from '../env/prng.js'
import type { NodeId } from '../net/types.js'

/** Minimum time between dials of the same member. */
export const REDIAL_MS = 5000

/** Dials kept in flight. */
export const DIALS_IN_FLIGHT_MAX = 8

/** Of those, dials of members that are not urgent. */
export const MESH_DIALS_IN_FLIGHT = 1

/**
 * The rest of the mesh is dialled only while this node's observed lag (ClusterCore.lag) is at most
 * this: a host busy with formation (or anything else) shows it in every node's lag, and each dial
 * costs both sides a handshake.
 */
export const MESH_LAG_MAX_MS = 50

/** What the plan needs to know at one moment. */
export interface DialInputs {
  readonly nowMs: number
  readonly connected: ReadonlySet<NodeId>
  /** Dialled first (urgentDials). */
  readonly urgent: ReadonlySet<NodeId>
  /** Whether the other members are dialled too: this node is an admitted member, its lag at most MESH_LAG_MAX_MS. */
  readonly mesh: boolean
  /** Members heard of, with their addresses (ClusterCore.knownAddresses). */
  readonly known: ReadonlyArray<{ readonly node: NodeId; readonly addresses: readonly string[] }>
}

/**
 * The members to dial first: the leader; on a voter (or the leader) the other voters; on an
 * admitted worker one voter other than the leader, picked by hashing both ids (so that the workers
 * spread over the voters), through which it hears the topic if the leader dies; and on the leader
 * every node heard of that is no member (the joiners it must admit). A joiner needs the leader alone to be
 * admitted: when 49 joiners dialled every voter, each voter took 49 handshakes in the seconds its
 * echoes kept the leader's lease, and at 50 peers the lease lapsed. The other links come later,
 * with the rest of the mesh.
 */
export function urgentDials(i: {
  readonly self: NodeId
  readonly config: { readonly members: readonly NodeId[]; readonly workers: readonly NodeId[] } | null
  readonly leader: NodeId | undefined
  readonly leading: boolean
  readonly known: ReadonlyArray<{ readonly node: NodeId }>
}): Set<NodeId> {
  const voters = i.config?.members ?? []
  const urgent = new Set(i.leading || voters.includes(i.self) ? voters : [])
  // Not the leader: a worker whose one voter was the leader had no link left when it died.
  const others = voters.filter((v) => v !== i.leader)
  if (i.config?.workers.includes(i.self) === true && others.length > 0) urgent.add(rendezvous(i.self, others))
  if (i.leader !== undefined) urgent.add(i.leader)
  if (i.leading) {
    const workers = new Set(i.config?.workers ?? [])
    for (const { node } of i.known) if (!workers.has(node) && !voters.includes(node)) urgent.add(node)
  }
  urgent.delete(i.self)
  return urgent
}

/** The candidate whose hash with `self` is least: stable for one node, spread over many. */
function rendezvous(self: NodeId, candidates: readonly NodeId[]): NodeId {
  let best = candidates[0]!
  let bestHash = Infinity
  for (const c of candidates) {
    const h = hash32(`${self}/${c}`)
    if (h < bestHash) [best, bestHash] = [c, h]
  }
  return best
}

export class DialPlan {
  private readonly lastDial = new Map<NodeId, number>()
  /** Dials in flight, each marked urgent or not. */
  private readonly dialing = new Map<NodeId, boolean>()

  /** The dials to start now; each is counted in flight until `ended`. */
  due(i: DialInputs): Array<{ node: NodeId; address: string }> {
    const due: Array<{ node: NodeId; address: string; urgent: boolean }> = []
    for (const { node, addresses } of i.known) {
      const urgent = i.urgent.has(node)
      if ((!urgent && !i.mesh) || i.connected.has(node) || this.dialing.has(node) || addresses.length === 0) continue
      if (i.nowMs - (this.lastDial.get(node) ?? -Infinity) < REDIAL_MS) continue
      due.push({ node, address: addresses[0]!, urgent })
    }
    if (this.lastDial.size > i.known.length) {
      const ids = new Set(i.known.map((k) => k.node))
      for (const node of this.lastDial.keys()) if (!ids.has(node)) this.lastDial.delete(node)
    }
    due.sort((a, b) => Number(b.urgent) - Number(a.urgent))
    let meshInFlight = [...this.dialing.values()].filter((urgent) => !urgent).length
    const start: Array<{ node: NodeId; address: string }> = []
    for (const { node, address, urgent } of due) {
      if (this.dialing.size >= DIALS_IN_FLIGHT_MAX) break
      if (!urgent && meshInFlight >= MESH_DIALS_IN_FLIGHT) break
      if (!urgent) meshInFlight++
      this.dialing.set(node, urgent)
      this.lastDial.set(node, i.nowMs)
      start.push({ node, address })
    }
    return start
  }

  /** A dial returned by `due` ended (connected or failed). */
  ended(node: NodeId): void {
    this.dialing.delete(node)
  }

  /** Dials in flight. */
  get inFlight(): number {
    return this.dialing.size
  }
}

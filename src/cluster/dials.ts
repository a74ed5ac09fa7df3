/**
 * Which members the cluster actor dials, and when. Sans-I/O: the actor starts the dials this
 * returns and reports each one's end.
 *
 * Urgent ones first, up to DIALS_IN_FLIGHT_MAX at a time: the leader, on a voter the other voters
 * (elections and leases need them), on a worker one voter, on the leader the joiners it must admit,
 * and any member traffic needs (the cluster actor's `want`: an actor message to a node not
 * connected yet). The rest of the mesh only once this node is an admitted member whose event loop
 * keeps up (MESH_LAG_MAX_MS), MESH_DIALS_IN_FLIGHT at a time. Each member at most once per REDIAL_MS,
 * and one that is not urgent and whose dials keep failing half as often after each failure, down to
 * once per REDIAL_MAX_MS (`failed`): a killed member is held dead for a minute, and every node
 * dialled it every REDIAL_MS all that time, each failed dial 2-3 ms of CPU on a slow host.
 *
 * The mesh is partial: a node links to MESH_LINKS neighbours of its own, picked by hashing both ids
 * among the members it holds live (so each node's picks are uniform and independent, a random
 * k-out graph, which is connected with high probability for k >= 2, with a diameter of O(log N)),
 * and every voter links to every worker (a worker's records are for whoever may lead, "Election
 * traffic" in src/cluster/core.ts). Others pick it as well, so a worker ends with about
 * 2·MESH_LINKS links plus the voters: at 30 peers a full mesh cost each idle worker 29
 * connections, 86 MB and a handshake for every pair while the mesh filled. The leader alone links
 * to every member: its records go to each point to point.
 *
 * SWIM probes only the members a node is connected to (src/cluster/swim/core.ts, "Reachability"),
 * an update it gossips reaches the others hop by hop, and it asks members likely linked to the one
 * it probes to help (`likelyLinked`): a helper without a link cannot forward the ping. A member that
 * a node holds dead is dialled too, when not connected: if it is alive, the new connection exchanges
 * full state (SwimCore.meet) and it refutes at once. Without that, a node that held a live member
 * dead and had no link to it kept it dead until it forgot it (a first partial mesh, tried
 * 2026-11-30, left one peer of 30 seeing a live member down for a minute after a failover). A
 * suspect is not dialled (it refutes when the suspicion reaches it, and on a busy host suspicions
 * come by the dozen), only never picked.
 *
 * Why links are closed too (`DialPlan.prune`): a node's picks are the lowest hashes among the
 * members it knows, so while a cluster grows (and as a worker hears of more members, and members
 * come and go) newer members displace older picks, each displacement a new link; and a member
 * held dead for a while is dialled. Nothing closed those links: a worker of 50 real peers held 16
 * (200 simulated nodes: 24), and each costs about 0.5 MB of a peer's memory and its share of the
 * probes. So a node hangs up a link it dialled itself once its plan has not wanted it for
 * PRUNE_AFTER_MS in a row, while it is an admitted member whose event loop keeps up, and nothing
 * else uses the link (`inUse`: actor messages, asks or watches across it; closing a connection
 * ends a watch); at most PRUNES_PER_CALL at a time, since each makes the other side probe it
 * through the voters once (SWIM `lost`, answered by a live member; `likelyLinked`). The transport
 * says BYE first, so neither side's transport redials it (src/adapters/libp2p/framing.ts). Only the
 * dialling side prunes: it knows its own plan exactly, and if the other side wants the link it
 * dials it again and owns it from then on, so two plans that disagree settle after one redial
 * instead of taking turns. Voters and the leader keep every link.
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

/** Longest wait between dials of a member that is not urgent and whose dials keep failing. */
export const REDIAL_MAX_MS = 40_000

/** Dials kept in flight. */
export const DIALS_IN_FLIGHT_MAX = 8

/**
 * Of those, dials of members that are not urgent. A voter links to every worker: at 1 in flight the
 * 5 voters of 1,000 simulated nodes took 51 s to do so (the cluster formed then), at 4 31 s. The lag
 * gate (MESH_LAG_MAX_MS) is what keeps mesh dials off a busy host.
 */
export const MESH_DIALS_IN_FLIGHT = 4

/** Neighbours each node picks for the mesh (k of the random k-out graph). */
export const MESH_LINKS = 4

/**
 * The rest of the mesh is dialled only while this node's observed lag (ClusterCore.lag) is at most
 * this: a host busy with formation (or anything else) shows it in every node's lag, and each dial
 * costs both sides a handshake.
 */
export const MESH_LAG_MAX_MS = 50

/** How long a link stays unwanted by the plan, and unused, before this node hangs it up. */
export const PRUNE_AFTER_MS = 30_000

/** How often the cluster actor asks `prune`. */
export const PRUNE_CHECK_MS = 5000

/** Links hung up per call of `prune` at most. */
export const PRUNES_PER_CALL = 2

/** Helpers a probe asks (SwimConfig.k, 3): as many members surely linked to a worker make its relays enough. */
export const SURE_RELAYS_MIN = 3

/** What the plan needs to know at one moment. */
export interface DialInputs {
  readonly nowMs: number
  readonly connected: ReadonlySet<NodeId>
  /** Dialled first (urgentDials). */
  readonly urgent: ReadonlySet<NodeId>
  /** This node: its hash with each member picks its neighbours. */
  readonly self: NodeId
  /** Whether the mesh is dialled too: this node is an admitted member, its lag at most MESH_LAG_MAX_MS. */
  readonly mesh: boolean
  /** Members heard of, with their addresses (ClusterCore.knownAddresses). */
  readonly known: ReadonlyArray<{ readonly node: NodeId; readonly addresses: readonly string[] }>
  /** The mesh beyond the neighbours (meshDials). */
  readonly meshAlso: MeshAlso
}

/** Who a node links to besides the neighbours it picks: every member, or these (and which it must not pick: those in doubt). */
export type MeshAlso = { readonly all: true } | { readonly all: false; readonly members: ReadonlySet<NodeId>; readonly notLive: ReadonlySet<NodeId> }

/**
 * The mesh beyond a node's own neighbours: on the leader every member; between voters and workers
 * every pair (a worker's records are for whoever may lead, and a worker with a link to a voter
 * is not stranded when the leader dies; it knows the voters' addresses from the leader's records,
 * ClusterCore.knownAddresses); on anyone the members SWIM holds dead. Those it holds suspect or dead
 * (`notLive`) are never picked as neighbours.
 */
export function meshDials(i: {
  readonly self: NodeId
  readonly config: { readonly members: readonly NodeId[]; readonly workers: readonly NodeId[] } | null
  readonly leading: boolean
  readonly doubted: { readonly suspect: ReadonlySet<NodeId>; readonly dead: ReadonlySet<NodeId> }
}): MeshAlso {
  if (i.leading) return { all: true }
  const members = new Set(i.doubted.dead)
  if (i.config?.workers.includes(i.self) === true) for (const v of i.config.members) members.add(v)
  if (i.config?.members.includes(i.self) === true) for (const w of i.config.workers) members.add(w)
  members.delete(i.self)
  return { all: false, members, notLive: new Set([...i.doubted.suspect, ...i.doubted.dead]) }
}

/**
 * The members to dial first: the leader; on a voter (or the leader) the other voters; on an
 * admitted worker that knows no live leader one voter, picked by hashing both ids (so that the
 * workers spread over the voters) among those SWIM does not doubt, through which it hears the
 * topic (its addresses came with the leader's records, ClusterCore.knownAddresses; while there is
 * a leader the voters are the worker's mesh, dialled while its lag allows: 45 workers dialling a
 * voter each as soon as they were admitted went with 50 peers forming in 43-52 s against 30-37,
 * and dialling one the moment the leader's connection closed with first leaders 1.1-4.0 s after a
 * kill against 1.0-1.3, 2026-11-30); and on the leader
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
  /** Members SWIM holds suspect or dead: not picked as a worker's voter while another is left (a killed leader is one). */
  readonly doubted?: { readonly suspect: ReadonlySet<NodeId>; readonly dead: ReadonlySet<NodeId> }
}): Set<NodeId> {
  const voters = i.config?.members ?? []
  const urgent = new Set(i.leading || voters.includes(i.self) ? voters : [])
  // While it has a leader, a worker's links to the voters are the mesh's (lag-gated, as theirs to it).
  const trusted = voters.filter((v) => i.doubted?.suspect.has(v) !== true && i.doubted?.dead.has(v) !== true)
  const others = trusted.length > 0 ? trusted : voters
  if (i.leader === undefined && i.config?.workers.includes(i.self) === true && others.length > 0) urgent.add(rendezvous(i.self, others))
  if (i.leader !== undefined) urgent.add(i.leader)
  if (i.leading) {
    const workers = new Set(i.config?.workers ?? [])
    for (const { node } of i.known) if (!workers.has(node) && !voters.includes(node)) urgent.add(node)
  }
  urgent.delete(i.self)
  return urgent
}

/** The MESH_LINKS members (not `self`, none in `exclude`) whose hash with `self` is least. */
export function pickNeighbours(self: NodeId, known: ReadonlyArray<{ readonly node: NodeId }>, exclude: ReadonlySet<NodeId>): Set<NodeId> {
  const ranked: Array<[NodeId, number]> = []
  for (const { node } of known) if (node !== self && !exclude.has(node)) ranked.push([node, hash32(`${self}/${node}`)])
  ranked.sort((a, b) => a[1] - b[1])
  return new Set(ranked.slice(0, MESH_LINKS).map(([node]) => node))
}

/** Whether every member links to `id` under this plan: it is a voter or the leader (SwimConfig.hub). */
export function linkedByAll(id: NodeId, config: { readonly members: readonly NodeId[] } | null, leader: NodeId | undefined): boolean {
  return id === leader || (config?.members.includes(id) ?? false)
}

/**
 * Members likely linked to `target` under this plan, the ones SWIM asks first to probe it for a node
 * (SwimConfig.relays): for a voter or the leader every member; for others the voters and the leader,
 * linked to every worker, and only when there are fewer than SURE_RELAYS_MIN of them also the
 * neighbours `target` picks among the others as far as this node's `known` is its. A worker's
 * actual links are its own picks and whoever picks it, each among the members that node knows; a
 * guess at them missed often enough, once stale links were pruned, that a closed link's probe
 * through three such helpers found no path and suspected a live worker (sim/swim/cluster-harness.ts,
 * 50 and 200 nodes pruning for a minute: live members seen suspect in 51 and 314 samples; none
 * through the voters).
 */
export function likelyLinked(
  target: NodeId,
  config: { readonly members: readonly NodeId[] } | null,
  leader: NodeId | undefined,
  known: ReadonlyArray<{ readonly node: NodeId }>,
): Set<NodeId> {
  if (linkedByAll(target, config, leader)) return new Set(known.map((k) => k.node))
  const voters = config?.members ?? []
  const sure = new Set(voters)
  if (leader !== undefined) sure.add(leader)
  sure.delete(target)
  if (sure.size >= SURE_RELAYS_MIN) return sure
  for (const m of pickNeighbours(target, known, new Set(voters))) sure.add(m)
  return sure
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

/** What `prune` needs besides the dial inputs. */
export interface PruneInputs extends DialInputs {
  /** Whether anything besides the cluster's own protocols uses the link to `node` now (asks, watches, recent actor messages). */
  readonly inUse: (node: NodeId) => boolean
}

export class DialPlan {
  private readonly lastDial = new Map<NodeId, number>()
  /** Failed dials of a member in a row, since it was last connected (`failed`). */
  private readonly failures = new Map<NodeId, number>()
  /** Connected members the plan does not want, since when (`prune`). */
  private readonly unwantedSince = new Map<NodeId, number>()
  /** Members connected by a dial of this plan, until their connection closes: the links `prune` may hang up. */
  private readonly ours = new Set<NodeId>()
  /** Dials in flight, each marked urgent or not. */
  private readonly dialing = new Map<NodeId, boolean>()
  private picked: { key: string; neighbours: ReadonlySet<NodeId> } | undefined

  /** The dials to start now; each is counted in flight until `ended`. */
  due(i: DialInputs): Array<{ node: NodeId; address: string }> {
    const due: Array<{ node: NodeId; address: string; urgent: boolean }> = []
    let neighbours: ReadonlySet<NodeId> | undefined
    for (const { node, addresses } of i.known) {
      const urgent = i.urgent.has(node)
      if (i.connected.has(node)) {
        // Connected, by either side's dial: its failures are over.
        if (this.failures.size > 0) this.failures.delete(node)
        continue
      }
      if ((!urgent && !i.mesh) || this.dialing.has(node) || addresses.length === 0) continue
      if (i.nowMs - (this.lastDial.get(node) ?? -Infinity) < (urgent ? REDIAL_MS : this.redialMs(node))) continue
      if (!urgent && !i.meshAlso.all && !i.meshAlso.members.has(node)) {
        // Picked only when a link is missing: where every pair is linked (the kernel simulator) never.
        neighbours ??= this.neighbours(i.self, i.known, i.meshAlso)
        if (!neighbours.has(node)) continue
      }
      due.push({ node, address: addresses[0]!, urgent })
    }
    if (this.lastDial.size > i.known.length) {
      const ids = new Set(i.known.map((k) => k.node))
      for (const node of this.lastDial.keys()) if (!ids.has(node)) this.lastDial.delete(node)
      for (const node of this.failures.keys()) if (!ids.has(node)) this.failures.delete(node)
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

  /**
   * pickNeighbours among the members it does not link to anyway (`also.members`: on a worker the
   * voters, whose addresses it knows from the leader's records; a pick spent on one cost a
   * worker-worker link, and at 200 simulated nodes a crashed worker went 5 s unprobed), kept while
   * as many members are known and the same ones are in doubt: it hashes
   * and sorts every member, and the driver asks on every tick (a member replaced by another between
   * two calls keeps the old picks until the count changes; a stale pick costs one link).
   */
  private neighbours(self: NodeId, known: DialInputs['known'], also: { readonly members: ReadonlySet<NodeId>; readonly notLive: ReadonlySet<NodeId> }): ReadonlySet<NodeId> {
    const key = `${known.length}/${also.members.size}/${[...also.notLive].join()}`
    if (this.picked?.key !== key) this.picked = { key, neighbours: pickNeighbours(self, known, new Set([...also.notLive, ...also.members])) }
    return this.picked.neighbours
  }

  /**
   * The links to hang up now: members this plan dialled (`opened`) that `due` would not dial now
   * (neither urgent, nor in the mesh beyond the neighbours, nor this node's neighbours) and that
   * nothing uses, unwanted for PRUNE_AFTER_MS; only while `mesh` (an admitted member keeping up),
   * and never where every member is linked (the leader).
   */
  prune(i: PruneInputs): NodeId[] {
    if (!i.mesh || i.meshAlso.all) {
      this.unwantedSince.clear()
      return []
    }
    const also = i.meshAlso
    const unwanted = new Set<NodeId>()
    let neighbours: ReadonlySet<NodeId> | undefined
    for (const node of this.ours) {
      if (!i.connected.has(node) || i.urgent.has(node) || also.members.has(node) || i.inUse(node)) continue
      neighbours ??= this.neighbours(i.self, i.known, also)
      if (!neighbours.has(node)) unwanted.add(node)
    }
    for (const node of this.unwantedSince.keys()) if (!unwanted.has(node)) this.unwantedSince.delete(node)
    const due: NodeId[] = []
    for (const node of unwanted) {
      const since = this.unwantedSince.get(node)
      if (since === undefined) this.unwantedSince.set(node, i.nowMs)
      else if (i.nowMs - since >= PRUNE_AFTER_MS && due.length < PRUNES_PER_CALL) due.push(node)
    }
    for (const node of due) this.closed(node)
    return due
  }

  /** The wait after a dial of `node` (not urgent) before the next: REDIAL_MS, doubled per failure in a row after the first, at most REDIAL_MAX_MS. */
  private redialMs(node: NodeId): number {
    return Math.min(REDIAL_MS * 2 ** Math.max(0, (this.failures.get(node) ?? 0) - 1), REDIAL_MAX_MS)
  }

  /** A dial of `node` this plan started connected it. */
  opened(node: NodeId): void {
    this.ours.add(node)
    this.failures.delete(node)
  }

  /** A dial of `node` this plan started failed. */
  failed(node: NodeId): void {
    this.failures.set(node, (this.failures.get(node) ?? 0) + 1)
  }

  /** The connection to `node` closed (or this node hangs it up). */
  closed(node: NodeId): void {
    this.ours.delete(node)
    this.unwantedSince.delete(node)
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

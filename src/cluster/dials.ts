/**
 * Which members the cluster actor dials, and when: every member it has heard of that is not
 * connected, at most once per REDIAL_MS each, at most DIALS_IN_FLIGHT_MAX at a time, voters and
 * the leader first. Sans-I/O: the actor starts the dials this returns and reports each one's end.
 *
 * Why paced: when a joiner learns the addresses of every member at once, or all of them bootstrap
 * together, unpaced dialing starts N² noise handshakes across the cluster at the same moment: on one
 * host that stalls every event loop for seconds, leases lapse and the cluster never forms. Voters
 * and the leader go first: elections and leases need them. Clusters of up to 9 members dial exactly
 * as if unpaced (everyone at once).
 */
import type { NodeId } from '../net/types.js'

/** Minimum time between dials of the same member. */
export const REDIAL_MS = 5000

/** Dials kept in flight. */
export const DIALS_IN_FLIGHT_MAX = 8

/** What the plan needs to know at one moment. */
export interface DialInputs {
  readonly nowMs: number
  readonly connected: ReadonlySet<NodeId>
  readonly voters: ReadonlySet<NodeId>
  readonly leader: NodeId | undefined
  /** Members heard of, with their addresses (ClusterCore.knownAddresses). */
  readonly known: ReadonlyArray<{ readonly node: NodeId; readonly addresses: readonly string[] }>
}

export class DialPlan {
  private readonly lastDial = new Map<NodeId, number>()
  private readonly dialing = new Set<NodeId>()

  /** The dials to start now; each is counted in flight until `ended`. */
  due(i: DialInputs): Array<{ node: NodeId; address: string }> {
    const due: Array<{ node: NodeId; address: string; urgent: boolean }> = []
    for (const { node, addresses } of i.known) {
      if (i.connected.has(node) || this.dialing.has(node) || addresses.length === 0 || i.nowMs - (this.lastDial.get(node) ?? -Infinity) < REDIAL_MS) continue
      due.push({ node, address: addresses[0]!, urgent: i.voters.has(node) || node === i.leader })
    }
    if (this.lastDial.size > i.known.length) {
      const ids = new Set(i.known.map((k) => k.node))
      for (const node of this.lastDial.keys()) if (!ids.has(node)) this.lastDial.delete(node)
    }
    due.sort((a, b) => Number(b.urgent) - Number(a.urgent))
    const start: Array<{ node: NodeId; address: string }> = []
    for (const { node, address } of due) {
      if (this.dialing.size >= DIALS_IN_FLIGHT_MAX) break
      this.dialing.add(node)
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

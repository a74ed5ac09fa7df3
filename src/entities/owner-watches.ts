/**
 * The owner side of watches of entity refs (sans-I/O): which watcher nodes watch which of this
 * node's activations, under the ids those nodes chose. A watch reaches an activation as an item of
 * its shard's route (actors/entities.ts); when the activation ends, `end` hands the driver the ids
 * to report per watcher node ('ended'). A watcher node that goes away loses its watches here
 * without a word (it ends them itself).
 *
 * Invariants (asserted): a watch (node, id) is on exactly one activation, and that activation's
 * `watchers` lists it; one node holds at most `perNodeMax` watches here, so its memory stays bounded.
 */
import { assert } from '../assert.js'
import type { NodeId } from '../net/types.js'

/** An activation as watches see it: per watcher node, the watch ids that node chose (no map until a first watch: most activations have none). */
export interface Watched {
  watchers: Map<NodeId, Set<number>> | undefined
}

/** Watches one peer may hold on this node's activations; more are refused (its memory stays bounded). */
export const WATCHES_PER_NODE_MAX = 100_000

export class OwnerWatches<A extends Watched> {
  /** Per watcher node, the activation of each of its watches. */
  private readonly byNode = new Map<NodeId, Map<number, A>>()

  constructor(private readonly perNodeMax: number = WATCHES_PER_NODE_MAX) {}

  /** True when `node` holds watch `id` here. */
  holds(node: NodeId, id: number): boolean {
    return this.byNode.get(node)?.has(id) === true
  }

  /** Watch `id` of `node` reached `activation`: false when `node` holds too many already (a known watch is accepted again). */
  add(activation: A, node: NodeId, id: number): boolean {
    let watches = this.byNode.get(node)
    if (watches?.has(id) === true) return true
    if ((watches?.size ?? 0) >= this.perNodeMax) return false
    if (watches === undefined) this.byNode.set(node, (watches = new Map()))
    const watchers = (activation.watchers ??= new Map())
    let ids = watchers.get(node)
    if (ids === undefined) watchers.set(node, (ids = new Set()))
    ids.add(id)
    watches.set(id, activation)
    return true
  }

  /** `node` dropped these watches (unwatched, or its watcher stopped). */
  forget(node: NodeId, ids: readonly number[]): void {
    for (const id of ids) this.remove(node, id)
  }

  /** The watcher node `node` is gone: its watches here end without a word. */
  dropNode(node: NodeId): void {
    const watches = this.byNode.get(node)
    if (watches === undefined) return
    for (const id of [...watches.keys()]) this.remove(node, id)
  }

  /** `activation` ended: removes its watches and returns, per watcher node in the order they came, the ids to tell. */
  end(activation: A): Array<[NodeId, number[]]> {
    const ends: Array<[NodeId, number[]]> = []
    if (activation.watchers === undefined) return ends
    for (const [node, set] of [...activation.watchers]) {
      const ids = [...set]
      for (const id of ids) this.remove(node, id)
      ends.push([node, ids])
    }
    return ends
  }

  private remove(node: NodeId, id: number): void {
    const watches = this.byNode.get(node)
    const activation = watches?.get(id)
    if (watches === undefined || activation === undefined) return
    watches.delete(id)
    if (watches.size === 0) this.byNode.delete(node)
    const ids = activation.watchers?.get(node)
    assert(ids?.delete(id) === true, 'an entity watch missing from its activation')
    if (ids.size === 0) activation.watchers!.delete(node)
  }
}

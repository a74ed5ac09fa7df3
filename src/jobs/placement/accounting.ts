/**
 * The leader's own account of the work it has placed on each node and not yet seen finish, in
 * predicted milliseconds on that node. A node runs `capacity` attempts at once in arrival order, so
 * the first `capacity` entries are taken as running since they entered that window; their elapsed
 * time is subtracted (never below zero each) when the backlog is read. A release removes the oldest
 * entry of the released type. Invariant: entries of a node are in assignment order, and only the
 * first `capacity` of them may have a start time.
 */
import type { NodeId } from '../../net/types.js'

interface Entry {
  readonly type: string
  readonly workMs: number
  startedAt: number | null
}

export class WorkAccounting {
  private readonly nodes = new Map<NodeId, { capacity: number; entries: Entry[] }>()

  /** Records an attempt of `type`, predicted to take `workMs` on `node`. */
  assigned(node: NodeId, capacity: number, type: string, workMs: number, nowMs: number): void {
    const n = this.nodes.get(node) ?? { capacity, entries: [] }
    n.capacity = Math.max(1, capacity)
    n.entries.push({ type, workMs, startedAt: null })
    this.nodes.set(node, n)
    this.promote(n, nowMs)
  }

  /** An attempt of `type` on `node` ended. */
  released(node: NodeId, type: string, nowMs: number): void {
    const n = this.nodes.get(node)
    if (n === undefined) return
    const i = n.entries.findIndex((e) => e.type === type)
    if (i < 0) return
    n.entries.splice(i, 1)
    if (n.entries.length === 0) this.nodes.delete(node)
    else this.promote(n, nowMs)
  }

  /** Predicted work still to do on `node` (ms on that node, summed over its attempts). */
  backlogMs(node: NodeId, nowMs: number): number {
    const n = this.nodes.get(node)
    if (n === undefined) return 0
    let total = 0
    for (const e of n.entries) total += e.startedAt === null ? e.workMs : Math.max(0, e.workMs - (nowMs - e.startedAt))
    return total
  }

  /** Forgets everything (a new scheduler's attempts are counted afresh). */
  clear(): void {
    this.nodes.clear()
  }

  private promote(n: { capacity: number; entries: Entry[] }, nowMs: number): void {
    for (let i = 0; i < Math.min(n.capacity, n.entries.length); i++) if (n.entries[i]!.startedAt === null) n.entries[i]!.startedAt = nowMs
  }
}

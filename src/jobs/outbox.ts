/**
 * The scheduler core's effects as messages, with no I/O: one message per destination and kind, so
 * that a dispatch of thousands of attempts costs one message per peer (actors/scheduler.ts sends
 * them, in the order of the fields below).
 *
 * - Items keep the core's order within each destination; destinations come in the order the core
 *   first named them.
 * - A watcher hears of a finished job whether it watched before the job finished (`finished`) or
 *   after (`notify`); finished items come first.
 */
import type { NodeId } from '../net/types.js'
import type { Assignment } from './protocol.js'
import type { Effects } from './scheduler-core.js'
import type { JobOutcome } from './types.js'

/** An attempt named to its holder (an abort, or a steal request). */
export interface AttemptItem {
  readonly id: string
  readonly attemptKey: string
}

/** The messages the core's effects make, by destination. */
export interface Outbox {
  readonly assign: Map<NodeId, Assignment[]>
  readonly abort: Map<NodeId, AttemptItem[]>
  readonly steal: Map<NodeId, AttemptItem[]>
  /** By watcher address. */
  readonly finished: Map<string, Array<{ id: string; outcome: JobOutcome }>>
  /** By watcher address. */
  readonly progress: Map<string, Array<{ id: string; fraction: number; message: string | null }>>
}

/** Groups `effects` into messages. */
export function outboxOf(effects: Effects): Outbox {
  const out: Outbox = { assign: new Map(), abort: new Map(), steal: new Map(), finished: new Map(), progress: new Map() }
  for (const a of effects.assign) pushTo(out.assign, a.node, { spec: a.spec, attempt: a.attempt, attemptKey: a.attemptKey })
  for (const a of effects.abort) pushTo(out.abort, a.node, { id: a.id, attemptKey: a.attemptKey })
  for (const s of effects.steal) pushTo(out.steal, s.node, { id: s.id, attemptKey: s.attemptKey })
  for (const list of [effects.finished, effects.notify]) {
    for (const f of list) for (const w of f.watchers) pushTo(out.finished, w, { id: f.id, outcome: f.outcome })
  }
  for (const p of effects.progress) for (const w of p.watchers) pushTo(out.progress, w, { id: p.id, fraction: p.fraction, message: p.message })
  return out
}

/** Appends `item` to the list under `key`, creating it: grouping a batch stays linear in its size. */
function pushTo<K, V>(groups: Map<K, V[]>, key: K, item: V): void {
  const list = groups.get(key)
  if (list === undefined) groups.set(key, [item])
  else list.push(item)
}

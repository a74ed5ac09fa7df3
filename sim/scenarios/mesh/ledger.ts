/**
 * The ledger actor: applies each request id at most once, durably, and only then acknowledges.
 * Its effect is the durable key `applied/<id>` on its node's disk, which the checkers read.
 */
import { defineActor } from '../../../src/actor/define.js'
import type { Ask } from '../../../src/actor/types.js'
import type { DurableStore } from '../../../src/storage/types.js'

export type LedgerMsg = Ask<{ type: 'apply'; id: string }, { applied: boolean }> | { type: 'flush' }

/** Options of the ledger. */
export interface LedgerInit {
  store: DurableStore
  /** Deliberate bug for checker tests: acknowledge at once and write to disk in batches later. */
  lazyPersist?: boolean
}

const ONE = Uint8Array.of(1)

/** The durable key recording that `id` was applied. */
export function appliedKey(id: string): string {
  return `applied/${id}`
}

export function ledger(init: LedgerInit) {
  return defineActor<LedgerMsg>({
    setup(ctx) {
      const buffered = new Set<string>()
      if (init.lazyPersist === true) ctx.timers.every('flush', 500, { type: 'flush' })
      return {
        async apply(msg) {
          if (init.lazyPersist === true) {
            buffered.add(msg.id)
            return { applied: true }
          }
          if ((await init.store.read(appliedKey(msg.id))) !== undefined) return { applied: false }
          await init.store.write(appliedKey(msg.id), ONE)
          return { applied: true }
        },
        async flush() {
          const ids = [...buffered]
          buffered.clear()
          for (const id of ids) {
            if ((await init.store.read(appliedKey(id))) === undefined) await init.store.write(appliedKey(id), ONE)
          }
        },
      }
    },
  })
}

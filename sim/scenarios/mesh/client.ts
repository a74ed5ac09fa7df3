/**
 * A client actor: every interval it issues a new request id to the ledger on another node and
 * retries the same id with backoff until it is acknowledged. It reports to the run's history:
 * invoked, then acknowledged.
 */
import { defineActor } from '../../../src/actor/define.js'
import type { ActorRef } from '../../../src/actor/types.js'
import type { LedgerMsg } from './ledger.js'

type ClientMsg = { type: 'tick' } | { type: 'send'; id: string; attempt: number } | { type: 'acked'; id: string }

/** The history the clients write and the checkers read. */
export interface History {
  invoked(id: string, atMs: number): void
  acked(id: string): void
}

/** Options of the client. */
export interface ClientInit {
  node: string
  incarnation: number
  ledger: ActorRef<LedgerMsg>
  intervalMs: number
  history: History
  /** False once the workload is over: no new request ids, retries of old ones continue. */
  active: () => boolean
  /** Deliberate bug for liveness tests when false: give up after the first failed attempt. */
  retry: boolean
}

const ASK_TIMEOUT_MS = 1000
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 2000

export function client(init: ClientInit) {
  return defineActor<ClientMsg>({
    setup(ctx) {
      let next = 0
      ctx.timers.every('tick', init.intervalMs, { type: 'tick' })
      return {
        tick() {
          if (!init.active()) return
          const id = `${init.node}.${init.incarnation}.${next++}`
          init.history.invoked(id, ctx.env.clock.monotonicMs())
          ctx.self.tell({ type: 'send', id, attempt: 0 })
        },
        send(msg) {
          void init.ledger.ask({ type: 'apply', id: msg.id }, { timeoutMs: ASK_TIMEOUT_MS }).then(
            () => ctx.self.tell({ type: 'acked', id: msg.id }),
            () => {
              if (!init.retry) return
              const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** msg.attempt) * (0.5 + ctx.env.random.next())
              ctx.timers.once(`retry:${msg.id}`, delay, { type: 'send', id: msg.id, attempt: msg.attempt + 1 })
            },
          )
        },
        acked(msg) {
          init.history.acked(msg.id)
        },
      }
    },
  })
}

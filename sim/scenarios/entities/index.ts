/**
 * The `entities` scenario: whole nodes with a counter entity type on the simulated network. Every
 * node sends, at a steady rate, tells and asks to random keys, each stamped with its sender (node
 * and incarnation) and a per-key sequence number; partitions, crashes, pauses and skew move shards
 * between owners, and the leader rebalances.
 *
 * Invariants (online): per key, the ownership epochs of the activations that handle messages never
 * go down over time (at most one activation per key, by epoch: an older activation never handles a
 * message after a newer one did); per key and sender, sequence numbers handled only grow (gaps are
 * allowed: a tell is at most once, an ask may time out).
 * Liveness: after the final heal, every live node gets an answer from every key.
 * Persistent state (an `account` type saving a count before each reply): every acknowledged deposit
 * returned a count no other acknowledged deposit of the key returned, and after the heal each key's
 * count is at least the highest acknowledged one (no acknowledged update was lost).
 */
import { defineEntity } from '../../../src/entities/define.js'
import type { Ask } from '../../../src/actor/types.js'
import { assembleNode, type AssembledNode } from '../../../src/node/assemble.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'

type AccountMsg = Ask<{ type: 'deposit' }, number> | Ask<{ type: 'get' }, number>
type CounterMsg = { type: 'inc'; sender: string; seq: number } | Ask<{ type: 'add'; sender: string; seq: number }, number> | Ask<{ type: 'get' }, number>

export interface EntitiesScenarioInit {
  keys?: number
  /** Keys of the persistent type. */
  accounts?: number
  sendEveryMs?: number
}

const FOUNDER = 'n0'

export function entitiesScenario(init: EntitiesScenarioInit = {}): Scenario<AssembledNode> {
  const keys = init.keys ?? 24
  const sendEveryMs = init.sendEveryMs ?? 40
  const problems: string[] = []
  /** Per key: the highest epoch that handled a message, and where. */
  const epochs = new Map<string, { epoch: number; node: string }>()
  /** Per key and sender: the last sequence number handled. */
  const seqs = new Map<string, number>()
  const stats = { sent: 0, handled: 0, asked: 0, answered: 0, activations: 0, deposits: 0, depositsAcked: 0 }
  let world: World<AssembledNode> | undefined

  const counter = defineEntity<CounterMsg>('counter', {
    passivateAfterMs: 3000,
    setup(ctx) {
      stats.activations++
      let total = 0
      const handle = (sender: string, seq: number): void => {
        stats.handled++
        const last = epochs.get(ctx.key)
        const here = world?.nodes.find((n) => n.app?.system.env === ctx.env)?.id ?? '?'
        if (last !== undefined && last.epoch > ctx.epoch) problems.push(`key ${ctx.key}: epoch ${ctx.epoch} on ${here} handled a message after epoch ${last.epoch} on ${last.node}`)
        else epochs.set(ctx.key, { epoch: ctx.epoch, node: here })
        const id = `${ctx.key}|${sender}`
        const prev = seqs.get(id) ?? 0
        if (seq <= prev) problems.push(`key ${ctx.key}: sender ${sender} message ${seq} handled after ${prev}`)
        else seqs.set(id, seq)
        total++
      }
      return {
        inc: (msg) => handle(msg.sender, msg.seq),
        add: (msg) => {
          handle(msg.sender, msg.seq)
          return total
        },
        get: () => total,
      }
    },
  })

  const account = defineEntity<AccountMsg, number>('account', {
    persistent: true,
    passivateAfterMs: 2000,
    async setup(ctx) {
      let count = (await ctx.state.load()) ?? 0
      return {
        deposit: async () => {
          count++
          await ctx.state.save(count)
          return count
        },
        get: () => count,
      }
    },
  })
  const accounts = init.accounts ?? 6
  /** Per account: every answer seen (deposits and reads), with when it was asked and answered. */
  const answers = new Map<string, Array<{ kind: 'deposit' | 'get'; askedMs: number; answeredMs: number; count: number }>>()
  const observe = (key: string, kind: 'deposit' | 'get', askedMs: number, count: number): void => {
    answers.set(key, [...(answers.get(key) ?? []), { kind, askedMs, answeredMs: world?.nowMs ?? 0, count }])
  }

  const probes = new Map<string, 'pending' | 'ok'>()

  return {
    name: 'entities',
    boot(ctx, w) {
      world = w
      return assembleNode(
        { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache },
        { founder: ctx.id === FOUNDER, jobs: [], entities: [counter, account], entityOptions: { shards: 16 } },
      )
    },
    workload(w, endMs) {
      for (const node of w.nodes) {
        const next = new Map<string, number>()
        let incarnation: AssembledNode | undefined
        let senderId = ''
        let generation = 0
        const tick = (): void => {
          if (w.nowMs >= endMs) return
          w.at(w.nowMs + sendEveryMs, tick)
          const app = node.app
          if (app === undefined || node.owner.status !== 'up') return
          if (app !== incarnation) {
            incarnation = app
            generation++
            senderId = `${node.id}#${generation}`
            next.clear()
          }
          if (w.workload.next() < 0.25) {
            const key = `a${w.workload.int(0, accounts - 1)}`
            stats.deposits++
            const askedMs = w.nowMs
            app.entities
              .get(account, key)
              .ask({ type: 'deposit' }, { timeoutMs: 3000 })
              .then(
                (count) => {
                  stats.depositsAcked++
                  observe(key, 'deposit', askedMs, count)
                },
                () => {},
              )
            return
          }
          const key = `k${w.workload.int(0, keys - 1)}`
          const seq = (next.get(key) ?? 0) + 1
          next.set(key, seq)
          const ref = app.entities.get(counter, key)
          stats.sent++
          if (w.workload.next() < 0.5) ref.tell({ type: 'inc', sender: senderId, seq })
          else {
            stats.asked++
            ref.ask({ type: 'add', sender: senderId, seq }, { timeoutMs: 3000 }).then(
              () => void stats.answered++,
              () => {},
            )
          }
        }
        w.at(1500 + node.index * 7, tick)
      }
    },
    invariants: [
      {
        name: 'one-activation-per-key-by-epoch-and-per-sender-order',
        check: () => problems[0],
      },
    ],
    liveness: {
      boundMs: 15_000,
      check(w) {
        let missing: string | undefined
        for (const node of w.nodes) {
          const app = node.app
          if (app === undefined || node.owner.status !== 'up') continue
          for (let k = 0; k < keys; k++) {
            const id = `${node.id}|k${k}`
            const state = probes.get(id)
            if (state === 'ok') continue
            missing ??= `${id} has not answered`
            if (state === 'pending') continue
            probes.set(id, 'pending')
            app.entities
              .get(counter, `k${k}`)
              .ask({ type: 'get' }, { timeoutMs: 2000 })
              .then(
                () => probes.set(id, 'ok'),
                () => probes.delete(id),
              )
          }
        }
        for (const node of w.nodes) {
          const app = node.app
          if (app === undefined || node.owner.status !== 'up') continue
          for (let k = 0; k < accounts; k++) {
            const key = `a${k}`
            const id = `${node.id}|${key}`
            const state = probes.get(id)
            if (state === 'ok') continue
            missing ??= `${id} has not answered`
            if (state === 'pending') continue
            probes.set(id, 'pending')
            const askedMs = w.nowMs
            app.entities
              .get(account, key)
              .ask({ type: 'get' }, { timeoutMs: 2000 })
              .then(
                (count) => {
                  probes.set(id, 'ok')
                  observe(key, 'get', askedMs, count)
                },
                () => probes.delete(id),
              )
          }
        }
        return missing
      },
    },
    final: [
      {
        name: 'no-acknowledged-persistent-update-lost',
        check() {
          for (const [key, seen] of answers) {
            const deposits = seen.filter((a) => a.kind === 'deposit')
            const counts = deposits.map((a) => a.count)
            if (new Set(counts).size !== counts.length) return `account ${key}: two acknowledged deposits returned the same count (${counts.join(',')}): one was lost`
            for (const later of seen) {
              // Every deposit acknowledged before this ask was made must be reflected in its answer.
              const before = deposits.filter((d) => d.answeredMs < later.askedMs).map((d) => d.count)
              if (before.length === 0) continue
              const max = Math.max(...before)
              if (later.count < max || (later.kind === 'deposit' && later.count === max))
                return `account ${key}: a ${later.kind} asked at ${later.askedMs} ms answered ${later.count}, after a deposit acknowledged ${max}`
            }
          }
          return undefined
        },
      },
    ],
    summary() {
      void world
      return `entities: sent=${stats.sent} handled=${stats.handled} asked=${stats.asked} answered=${stats.answered} activations=${stats.activations} deposits=${stats.deposits} deposits-acked=${stats.depositsAcked}`
    },
  }
}

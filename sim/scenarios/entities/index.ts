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
 */
import { defineEntity } from '../../../src/entities/define.js'
import type { Ask } from '../../../src/actor/types.js'
import { assembleNode, type AssembledNode } from '../../../src/node/assemble.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'

type CounterMsg = { type: 'inc'; sender: string; seq: number } | Ask<{ type: 'add'; sender: string; seq: number }, number> | Ask<{ type: 'get' }, number>

export interface EntitiesScenarioInit {
  keys?: number
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
  const stats = { sent: 0, handled: 0, asked: 0, answered: 0, activations: 0 }
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

  const probes = new Map<string, 'pending' | 'ok'>()

  return {
    name: 'entities',
    boot(ctx, w) {
      world = w
      return assembleNode({ env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache }, { founder: ctx.id === FOUNDER, jobs: [], entities: [counter], entityOptions: { shards: 16 } })
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
        return missing
      },
    },
    final: [],
    summary() {
      void world
      return `entities: sent=${stats.sent} handled=${stats.handled} asked=${stats.asked} answered=${stats.answered} activations=${stats.activations}`
    },
  }
}

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
 * Watches: a watcher actor on every node asks a key which activation answers ('who'), watches the
 * key, and asks 'who' again. The watch reaches the first answer's activation or a later one, and the
 * second answer's activation or an earlier one (per-sender order). Online: once a watcher heard the
 * watched activation end (any reason but failed-over and unreachable, which the watcher side reports
 * on suspicion), the first answer's activation handles no more messages. Liveness: a watch ends once
 * the second answer's activation stopped, or no activation of the key since the first runs; and
 * (final) no watch is still open WATCH_END_MS after the second answer's activation stopped.
 */
import { defineEntity } from '../../../src/entities/define.js'
import { entityAddress } from '../../../src/entities/address.js'
import { defineActor } from '../../../src/actor/define.js'
import type { ActorRef, Ask, Terminated } from '../../../src/actor/types.js'
import { assembleNode, type AssembledNode } from '../../../src/node/assemble.js'
import type { EntityOptions } from '../../../src/entities/options.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'

type AccountMsg = Ask<{ type: 'deposit' }, number> | Ask<{ type: 'get' }, number>
type CounterMsg =
  | { type: 'inc'; sender: string; seq: number }
  | Ask<{ type: 'add'; sender: string; seq: number }, number>
  | Ask<{ type: 'get' }, number>
  | Ask<{ type: 'slow'; ms: number }, number>
  | Ask<{ type: 'who' }, number>
type WatcherMsg = { type: 'watch'; key: string; instance: number } | { type: 'ended'; id: number; t: Terminated }

export interface EntitiesScenarioInit {
  keys?: number
  /** Keys of the persistent type. */
  accounts?: number
  sendEveryMs?: number
  /**
   * Share of the counter asks that are slow (answered after SLOW_MS, handling nothing): the fast
   * asks batched with them must not wait for them (the summary's fast-max-ms).
   */
  slowAsks?: number
  /** Entity tuning on every node (default: 16 shards, the rest default). */
  entityOptions?: Partial<EntityOptions>
  /** Called when a key is handled under a new epoch (a new activation), with where and when. */
  onMove?: (move: { key: string; epoch: number; node: string; atMs: number; from: { epoch: number; node: string } | undefined }) => void
}

const FOUNDER = 'n0'
const SLOW_MS = 400
const WARM_MS = 6000
/** Every node's watcher watches a key every this many of its sending ticks. */
const WATCH_EVERY_TICKS = 10
/** A watch must end within this of its activation's stop: at once by 'ended', or by the owner check (2 s) if that was lost. */
const WATCH_END_MS = 7000

export function entitiesScenario(init: EntitiesScenarioInit = {}): Scenario<AssembledNode> {
  const keys = init.keys ?? 24
  const sendEveryMs = init.sendEveryMs ?? 40
  const problems: string[] = []
  /** Per key: the highest epoch that handled a message, and where. */
  const epochs = new Map<string, { epoch: number; node: string }>()
  /** Per key and sender: the last sequence number handled. */
  const seqs = new Map<string, number>()
  const stats = { sent: 0, handled: 0, asked: 0, answered: 0, unreachable: 0, activations: 0, deposits: 0, depositsAcked: 0, slowAnswered: 0, fastMaxMs: 0 }
  /** Asks that failed because a peer could not be reached (the others time out or are refused). */
  const failed = (error: unknown): void => {
    if ((error as { code?: unknown })?.code === 'ERR_NODE_UNREACHABLE') stats.unreachable++
  }
  let world: World<AssembledNode> | undefined
  /** Activations of the counter type, numbered in the order they start, with their key and node. */
  const instances = new Map<number, { key: string; app: AssembledNode | undefined; stopped: boolean; stoppedAtMs: number; heardEnded: string | undefined }>()
  let nextInstance = 0
  /** Watches in progress: the activation a 'who' named, and the watcher's node incarnation. */
  const watches = new Map<number, { key: string; instance: number; latest: number | undefined; app: AssembledNode }>()
  let nextWatch = 0
  const endReasons = new Map<string, number>()
  const watcher = (app: AssembledNode) =>
    defineActor<WatcherMsg>({
      setup(ctx) {
        const watched = new Set<string>()
        return {
          watch: (msg) => {
            if (watched.has(msg.key)) return
            watched.add(msg.key)
            const id = ++nextWatch
            const watch = { key: msg.key, instance: msg.instance, latest: undefined as number | undefined, app }
            watches.set(id, watch)
            const ref = ctx.ref<CounterMsg>(entityAddress('counter', msg.key))
            ctx.watch(ref, (t) => ({ type: 'ended', id, t }))
            ref.ask({ type: 'who' }, { timeoutMs: 3000 }).then(
              (latest) => void (watch.latest = latest),
              () => {},
            )
          },
          ended: (msg) => {
            const watch = watches.get(msg.id)
            watches.delete(msg.id)
            if (watch === undefined) return
            watched.delete(watch.key)
            endReasons.set(msg.t.reason, (endReasons.get(msg.t.reason) ?? 0) + 1)
            const instance = instances.get(watch.instance)
            if (instance !== undefined && msg.t.reason !== 'failed-over' && msg.t.reason !== 'unreachable') instance.heardEnded ??= msg.t.reason
          },
        }
      },
    })
  const alive = (i: { app: AssembledNode | undefined; stopped: boolean }): boolean =>
    !i.stopped && world?.nodes.some((n) => n.app !== undefined && n.app === i.app && n.owner.status !== 'crashed') === true

  const counter = defineEntity<CounterMsg>('counter', {
    passivateAfterMs: 3000,
    setup(ctx) {
      stats.activations++
      const instanceId = ++nextInstance
      const instance = {
        key: ctx.key,
        app: world?.nodes.find((n) => n.app?.system.env === ctx.env)?.app,
        stopped: false,
        stoppedAtMs: 0,
        heardEnded: undefined as string | undefined,
      }
      instances.set(instanceId, instance)
      ctx.onStop((cause) => {
        if (cause.kind !== 'stop') return
        instance.stopped = true
        instance.stoppedAtMs = world?.nowMs ?? 0
      })
      let total = 0
      const handle = (sender: string, seq: number): void => {
        stats.handled++
        if (instance.heardEnded !== undefined) problems.push(`key ${ctx.key}: activation ${instanceId} handled a message after a watcher heard it ended (${instance.heardEnded})`)
        const last = epochs.get(ctx.key)
        const here = world?.nodes.find((n) => n.app?.system.env === ctx.env)?.id ?? '?'
        if (last !== undefined && last.epoch > ctx.epoch) problems.push(`key ${ctx.key}: epoch ${ctx.epoch} on ${here} handled a message after epoch ${last.epoch} on ${last.node}`)
        else if (last?.epoch !== ctx.epoch) {
          init.onMove?.({ key: ctx.key, epoch: ctx.epoch, node: here, atMs: world?.nowMs ?? 0, from: last })
          epochs.set(ctx.key, { epoch: ctx.epoch, node: here })
        }
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
        slow: async (msg) => {
          await ctx.env.timers.sleep(msg.ms)
          return total
        },
        who: () => instanceId,
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
        { founder: ctx.id === FOUNDER, jobs: [], entities: [counter, account], entityOptions: { shards: 16, ...init.entityOptions } },
      )
    },
    workload(w, endMs) {
      for (const node of w.nodes) {
        const next = new Map<string, number>()
        let incarnation: AssembledNode | undefined
        let senderId = ''
        let generation = 0
        let ticks = 0
        let watcherRef: ActorRef<WatcherMsg> | undefined
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
            watcherRef = app.system.spawn(watcher(app))
          }
          if (++ticks % WATCH_EVERY_TICKS === 0) {
            const key = `k${(ticks / WATCH_EVERY_TICKS + node.index * 5) % keys}`
            const to = watcherRef
            app.entities
              .get(counter, key)
              .ask({ type: 'who' }, { timeoutMs: 3000 })
              .then(
                (instance) => to?.tell({ type: 'watch', key, instance }),
                () => {},
              )
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
          if (init.slowAsks !== undefined && w.workload.next() < init.slowAsks) {
            // Keys of their own: a slow ask holds its activation, never the fast asks' keys. It is
            app.entities
              .get(counter, `slow-${key}`)
              .ask({ type: 'slow', ms: SLOW_MS }, { timeoutMs: 3000 })
              .then(
                () => void stats.slowAnswered++,
                () => {},
              )
            // ... sent in the same turn as the next message, so the two often share a batch.
          }
          const seq = (next.get(key) ?? 0) + 1
          next.set(key, seq)
          const ref = app.entities.get(counter, key)
          stats.sent++
          if (w.workload.next() < 0.5) ref.tell({ type: 'inc', sender: senderId, seq })
          else {
            stats.asked++
            const askedMs = w.nowMs
            ref.ask({ type: 'add', sender: senderId, seq }, { timeoutMs: 3000 }).then(() => {
              stats.answered++
              // Once shards are placed (the first leader waits out earlier leases before placing any).
              if (askedMs >= WARM_MS) stats.fastMaxMs = Math.max(stats.fastMaxMs, w.nowMs - askedMs)
            }, failed)
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
        for (const [id, watch] of watches) {
          if (!w.nodes.some((n) => n.app === watch.app && n.owner.status !== 'crashed')) {
            watches.delete(id)
            continue
          }
          let running = false
          for (const [n, i] of instances) if (n >= watch.instance && i.key === watch.key && alive(i)) running = true
          if (!running) missing ??= `watch ${id} of ${watch.key} (activation ${watch.instance}) has not ended though no activation of the key runs`
          const latest = watch.latest === undefined ? undefined : instances.get(watch.latest)
          if (latest !== undefined && !alive(latest)) missing ??= `watch ${id} of ${watch.key} has not ended though activation ${watch.latest} stopped`
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
        name: 'every-watch-ends-with-its-activation',
        check(w) {
          for (const [id, watch] of watches) {
            if (!w.nodes.some((n) => n.app === watch.app && n.owner.status !== 'crashed')) continue
            const latest = watch.latest === undefined ? undefined : instances.get(watch.latest)
            if (latest?.stopped === true && w.nowMs - latest.stoppedAtMs > WATCH_END_MS)
              return `watch ${id} of ${watch.key} still open ${w.nowMs - latest.stoppedAtMs} ms after activation ${watch.latest} stopped`
          }
          return undefined
        },
      },
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
      const ends = [...endReasons].map(([r, n]) => `${r}:${n}`).join(',')
      return `entities: watches-ended=${ends || 'none'} watching=${watches.size} sent=${stats.sent} handled=${stats.handled} asked=${stats.asked} answered=${stats.answered} unreachable=${stats.unreachable} activations=${stats.activations} deposits=${stats.deposits} deposits-acked=${stats.depositsAcked} slow-answered=${stats.slowAnswered} fast-max-ms=${stats.fastMaxMs}`
    },
  }
}

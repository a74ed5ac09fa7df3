/**
 * The `replica-disk` scenario: every node drives its own replica log (the ReplicaLog port on its
 * SimDisk) with a random stream of appends, suffix cuts, compactions and resets, one mutation at a
 * time as the port requires, and reopens the log after any failure. Meant for the disk faults
 * (power-loss, disk-broken, disk-full) and crashes.
 *
 * The checker keeps, per node and across its crashes, what every resolved mutation promised, and
 * the one mutation in flight. Whenever the log is (re)opened, and at the end, the durable copy
 * must hold every promised entry that the mutation in flight cannot have removed, and start where
 * the promises (or that mutation) say. Liveness: after the final heal every node completes
 * mutations again. Bug `ack-early` records a mutation as promised when it is issued rather than
 * when it resolves, which a power loss exposes.
 */
import type { ReplicaEntry, ReplicaLog } from '../../../src/storage/types.js'
import { appendOffset } from '../../../protocols/replication/offsets.js'
import type { Scenario } from '../../run.js'
import type { ReplicaImage } from '../../services/replica-log.js'
import type { NodeContext, World } from '../../world.js'

export type ReplicaDiskBug = 'ack-early'

/** A mutation in flight, as far as the checker is concerned. */
type InFlight = { kind: 'write'; from: number } | { kind: 'compact'; index: number } | { kind: 'reset'; start: number }

/** What a node's resolved mutations promised. */
interface Promised {
  start: number
  /** index -> "epoch:payload" */
  entries: Map<number, string>
  inFlight: InFlight | undefined
  /** Mutations resolved, for liveness and the summary. */
  done: number
  reopens: number
  failures: number
}

const text = (e: ReplicaEntry): string => `${e.epoch}:${e.offset}:${e.payloads.map((p) => new TextDecoder().decode(p)).join(',')}`

/** What `image` lacks of `promised`, or undefined when it holds everything it must. */
export function checkImage(promised: Promised, image: ReplicaImage): string | undefined {
  const f = promised.inFlight
  const starts = [promised.start, ...(f?.kind === 'compact' ? [f.index] : f?.kind === 'reset' ? [f.start] : [])]
  if (!starts.includes(image.start)) return `log starts at ${image.start}, expected ${starts.join(' or ')}`
  if (f?.kind === 'reset' && image.start === f.start) return undefined
  for (const [index, value] of promised.entries) {
    if (f?.kind === 'write' && index >= f.from) continue
    if (index < image.start) continue
    const entry = image.entries[index - image.start]
    if (entry === undefined) return `promised entry ${index} (${value}) is missing; the log ends at ${image.start + image.entries.length}`
    if (text(entry) !== value) return `entry ${index} is ${text(entry)}, promised ${value}`
  }
  return undefined
}

export function replicaDiskScenario(init: { bugs?: readonly ReplicaDiskBug[] } = {}): Scenario<NodeContext> {
  const ackEarly = init.bugs?.includes('ack-early') ?? false
  const promised = new Map<string, Promised>()
  let baseline: Map<string, number> | undefined
  let world!: World<NodeContext>

  const state = (id: string): Promised => {
    let p = promised.get(id)
    if (p === undefined) promised.set(id, (p = { start: 0, entries: new Map(), inFlight: undefined, done: 0, reopens: 0, failures: 0 }))
    return p
  }

  /** Records what a mutation promises once it resolves. */
  const promise = (p: Promised, log: ReplicaLog, from: number | undefined): void => {
    const s = log.state()
    p.start = s.start
    for (const index of [...p.entries.keys()]) if (index < s.start || (from !== undefined && index >= from)) p.entries.delete(index)
  }

  async function drive(ctx: NodeContext): Promise<void> {
    const { env } = ctx
    const p = state(ctx.id)
    let serial = 0
    for (;;) {
      let log: ReplicaLog
      try {
        log = await ctx.replicaLog.open()
      } catch {
        await env.timers.sleep(200)
        continue
      }
      p.reopens++
      const problem = checkImage(p, world.node(ctx.id).disk.replica.image())
      if (problem !== undefined) world.violate('replica-durability', `${ctx.id} after reopen: ${problem}`)
      // What the disk holds now is durable: it becomes the promise.
      const image = world.node(ctx.id).disk.replica.image()
      p.start = image.start
      p.entries = new Map(image.entries.map((e) => [e.index, text(e)]))
      p.inFlight = undefined
      try {
        for (;;) {
          await env.timers.sleep(env.random.int(5, 60))
          const { start, end, lastEpoch } = log.state()
          const r = env.random.next()
          if (r < 0.1 && end > start) {
            const index = env.random.int(start, end)
            p.inFlight = { kind: 'compact', index }
            await log.compact(index)
            promise(p, log, undefined)
          } else if (r < 0.13) {
            const to = end + env.random.int(0, 5)
            p.inFlight = { kind: 'reset', start: to }
            await log.reset(to, lastEpoch + 1)
            p.entries.clear()
            promise(p, log, undefined)
          } else {
            const from = r < 0.3 ? env.random.int(start, end) : end
            const epoch = lastEpoch + (from < end || env.random.next() < 0.1 ? 1 : 0)
            // Each entry one append of one to three records (offsets.ts).
            const batch: ReplicaEntry[] = Array.from({ length: env.random.int(1, 5) }, (_, i) => ({
              index: from + i,
              epoch,
              offset: appendOffset(from + i),
              payloads: Array.from({ length: env.random.int(1, 3) }, () => new TextEncoder().encode(`${ctx.id}.${ctx.incarnation}.${serial++}`)),
            }))
            p.inFlight = { kind: 'write', from }
            const written = log.write(from, batch)
            if (ackEarly) {
              // The bug: the write counts as promised before it is durable.
              for (const index of [...p.entries.keys()]) if (index >= from) p.entries.delete(index)
              for (const e of batch) p.entries.set(e.index, text(e))
              p.inFlight = undefined
            }
            await written
            promise(p, log, from)
            for (const e of batch) p.entries.set(e.index, text(e))
          }
          p.inFlight = undefined
          p.done++
        }
      } catch {
        p.failures++
        await log.close()
        await env.timers.sleep(100)
      }
    }
  }

  return {
    name: 'replica-disk',
    boot(ctx, w) {
      world = w
      void drive(ctx)
      return ctx
    },
    invariants: [],
    liveness: {
      boundMs: 10_000,
      check(w) {
        baseline ??= new Map(w.nodeIds.map((id) => [id, state(id).done]))
        const stuck = w.nodeIds.filter((id) => state(id).done <= baseline!.get(id)!)
        return stuck.length === 0 ? undefined : `no mutation completed since the heal on ${stuck.join(', ')}`
      },
    },
    final: [
      {
        name: 'replica-durability',
        check(w) {
          for (const id of w.nodeIds) {
            const problem = checkImage(state(id), w.node(id).disk.replica.image())
            if (problem !== undefined) return `${id} at the end: ${problem}`
          }
          return undefined
        },
      },
    ],
    summary(w) {
      const all = w.nodeIds.map(state)
      return `mutations ${all.reduce((n, p) => n + p.done, 0)}, reopens ${all.reduce((n, p) => n + p.reopens, 0)}, failed mutations ${all.reduce((n, p) => n + p.failures, 0)}`
    },
  }
}

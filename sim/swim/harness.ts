/**
 * A deterministic scale simulation of the SWIM core (src/cluster/swim/): N cores on a lossy,
 * delayed network in virtual time, with joins, one crash and an optional partition that heals.
 * Every message goes through the real codec, so byte counts are wire bytes.
 *
 * It has its own small synchronous event loop (a MinHeap of timed callbacks, seeded with the
 * simulator's PRNG) rather than sim/kernel/: the SWIM core is synchronous, and the kernel's drain of
 * the promise queue after every event would dominate a run of a thousand nodes.
 */
import { decodeSwim, encodeSwim } from '../../protocols/swim/codec.js'
import { SwimCore, type SwimConfig } from '../../src/cluster/swim/core.js'
import { ScaleLoop, type ScaleRunOptions } from './loop.js'

export type { ScaleRunOptions } from './loop.js'

/** joinWindowMs defaults to 10 ms per node, at least 5 s. */
export interface SwimSimOptions extends ScaleRunOptions {
  /** After convergence, split the nodes in two halves for this long, then heal; 0: no partition. Default 0. */
  readonly partitionMs?: number
  /** Core settings other than self and random. */
  readonly config?: Omit<SwimConfig, 'self' | 'random'>
}

export interface SwimSimResult {
  readonly nodes: number
  /** Virtual ms from the start until every node saw every node alive; null if never. */
  readonly formationMs: number | null
  /** (observer, member) pairs not seen alive when formation was given up (0 when it completed). */
  readonly missingPairs: number
  /** Virtual ms from the crash until every live node that knew the crashed one marked it dead; null if never. */
  readonly convergenceMs: number | null
  /** Virtual ms from the crash until the first node suspected it. */
  readonly detectionMs: number | null
  /** Suspicions of members that had not crashed, outside the partition: distinct (member, incarnation), however many nodes heard each. */
  readonly falseSuspicions: number
  /** The suspect events behind them (one per node that heard a suspicion). */
  readonly falseSuspicionEvents: number
  /** Dead events about members that had not crashed, outside the partition. */
  readonly falseDeaths: number
  /** Dead events across the partition (expected when it outlasts the suspicion timeout). */
  readonly partitionDeaths: number
  /** Virtual ms from the heal until every live node saw every live node alive; null if never or no partition. */
  readonly healMs: number | null
  /** Over the steady window, per node: messages sent per second and wire bytes sent per second. */
  readonly messagesPerNodeS: number
  readonly bytesPerNodeS: number
  /** Over the steady window: the largest probe-path message. */
  readonly maxProbeBytes: number
  /** Virtual ms simulated and real ms taken. */
  readonly virtualMs: number
  readonly wallMs: number
}

interface SimNode {
  readonly index: number
  readonly id: string
  readonly core: SwimCore
  crashed: boolean
  joined: boolean
  tickAt: number
  token: number
  messages: number
  bytes: number
}

export function runSwimSim(o: SwimSimOptions): SwimSimResult {
  const wallStart = performance.now()
  const loop = new ScaleLoop(o)
  const { rng, net, loss, waitMs } = loop
  const [latMin, latMax] = loop.latencyMs
  const at = (t: number, fn: () => void): void => loop.at(t, fn)

  const nodes: SimNode[] = []
  const byId = new Map<string, SimNode>()
  for (let i = 0; i < o.nodes; i++) {
    const id = `n${String(i).padStart(4, '0')}`
    const node: SimNode = {
      index: i,
      id,
      core: new SwimCore({ ...o.config, self: id, random: rng.fork(`core/${id}`) }),
      crashed: false,
      joined: false,
      tickAt: Infinity,
      token: 0,
      messages: 0,
      bytes: 0,
    }
    nodes.push(node)
    byId.set(id, node)
  }

  let partitioned = false
  let inPartitionPhase = false
  let crashedId: string | null = null
  let crashAt = 0
  let detectionAt: number | null = null
  const deadSeenBy = new Set<string>()
  /** Live nodes that knew the victim alive when it crashed: convergence is all of them marking it dead. */
  let knowers = 0
  let convergedAt: number | null = null
  const falseSuspicions = new Set<string>()
  let falseSuspicionEvents = 0
  let falseDeaths = 0
  let partitionDeaths = 0
  let maxProbeBytes = 0
  const side = (n: SimNode): number => (n.index < o.nodes / 2 ? 0 : 1)

  const flush = (n: SimNode): void => {
    const ready = n.core.ready()
    for (const { to, message } of ready.messages) {
      const bytes = encodeSwim(message)
      n.messages++
      n.bytes += bytes.length
      if (message.type !== 'sync' && message.type !== 'live') maxProbeBytes = Math.max(maxProbeBytes, bytes.length)
      const dst = byId.get(to)
      if (dst === undefined || net.next() < loss) continue
      if (partitioned && side(dst) !== side(n)) continue
      at(loop.now + latMin + net.next() * (latMax - latMin), () => {
        if (dst.crashed || !dst.joined) return
        dst.core.receive(n.id, decodeSwim(bytes), loop.now)
        flush(dst)
      })
    }
    for (const e of ready.events) {
      const subject = byId.get(e.member)!
      const genuine = subject.crashed
      if (e.type === 'suspect' && !genuine) {
        if (inPartitionPhase) continue
        falseSuspicions.add(`${e.member}@${e.incarnation}`)
        falseSuspicionEvents++
      }
      if (e.type === 'suspect' && genuine && detectionAt === null) detectionAt = loop.now
      if (e.type === 'dead') {
        if (genuine) {
          deadSeenBy.add(n.id)
          if (convergedAt === null && deadSeenBy.size >= knowers) convergedAt = loop.now
        } else if (inPartitionPhase) partitionDeaths++
        else falseDeaths++
      }
    }
    const due = n.core.nextDeadlineMs()
    if (due < n.tickAt) {
      n.tickAt = due
      const token = ++n.token
      at(due, () => {
        if (n.crashed || token !== n.token) return
        n.tickAt = Infinity
        n.core.tick(loop.now)
        flush(n)
      })
    }
  }

  const live = (): SimNode[] => nodes.filter((n) => !n.crashed)
  const allSeeAll = (): boolean => {
    const l = live()
    // The sizes first: the full O(N²) look only runs once they agree.
    if (!l.every((n) => n.joined && n.core.size === l.length)) return false
    return l.every((n) => l.every((m) => n.core.member(m.id)?.status === 'alive'))
  }
  /** Runs events until `done` holds (checked every 100 virtual ms) or `limit`; returns the time it held, or null. */
  const runUntil = (limit: number, done: () => boolean): number | null => loop.runUntil(limit, done, 100)

  const joinWindow = o.joinWindowMs ?? Math.max(5_000, 10 * o.nodes)
  for (const n of nodes) {
    const t = n.index === 0 ? 0 : rng.next() * joinWindow
    at(t, () => {
      n.joined = true
      const other = nodes[Math.floor(rng.next() * Math.max(1, n.index))]!
      n.core.join(n.index === 0 ? [] : [nodes[0]!.id, other.id], loop.now)
      flush(n)
    })
  }
  const loadRng = rng.fork('load')
  const changeLoad = (n: SimNode): void => {
    at(loop.now + 1_000 + loadRng.next() * 2_000, () => {
      if (n.crashed) return
      n.core.setLoad([8, loadRng.int(0, 8), loadRng.int(0, 20), loadRng.int(0, 50)])
      flush(n)
      changeLoad(n)
    })
  }
  for (const n of nodes) changeLoad(n)

  const formedAt = runUntil(joinWindow + waitMs, allSeeAll)
  let missingPairs = 0
  if (formedAt === null) for (const n of nodes) for (const m of nodes) if (n.core.member(m.id)?.status !== 'alive') missingPairs++
  runUntil(loop.now + (o.settleMs ?? 10_000), () => false)
  const steadyMs = o.steadyMs ?? 10_000
  const base = nodes.map((n) => [n.messages, n.bytes] as const)
  const steadyStart = loop.now
  runUntil(loop.now + steadyMs, () => false)
  let msgs = 0
  let bytes = 0
  for (const n of nodes) {
    msgs += n.messages - base[n.index]![0]
    bytes += n.bytes - base[n.index]![1]
  }
  const seconds = (loop.now - steadyStart) / 1000
  const messagesPerNodeS = msgs / nodes.length / seconds
  const bytesPerNodeS = bytes / nodes.length / seconds

  const victim = nodes[1 + Math.floor(rng.next() * (nodes.length - 1))]!
  victim.crashed = true
  knowers = live().filter((n) => n.core.member(victim.id)?.status === 'alive' || n.core.member(victim.id)?.status === 'suspect').length
  crashedId = victim.id
  crashAt = loop.now
  runUntil(loop.now + waitMs, () => convergedAt !== null)
  runUntil(loop.now + 5_000, () => false)

  let healMs: number | null = null
  if ((o.partitionMs ?? 0) > 0) {
    inPartitionPhase = true
    partitioned = true
    runUntil(loop.now + o.partitionMs!, () => false)
    partitioned = false
    const healAt = loop.now
    const healed = runUntil(loop.now + waitMs, allSeeAll)
    healMs = healed === null ? null : healed - healAt
  }
  return {
    nodes: o.nodes,
    formationMs: formedAt,
    missingPairs,
    convergenceMs: convergedAt === null || crashedId === null ? null : convergedAt - crashAt,
    detectionMs: detectionAt === null ? null : detectionAt - crashAt,
    falseSuspicions: falseSuspicions.size,
    falseSuspicionEvents,
    falseDeaths,
    partitionDeaths,
    healMs,
    messagesPerNodeS,
    bytesPerNodeS,
    maxProbeBytes,
    virtualMs: loop.now,
    wallMs: performance.now() - wallStart,
  }
}

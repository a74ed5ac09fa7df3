/**
 * The cluster at scale in the simulator: N nodes each running the real cluster core
 * (src/cluster/core.ts) and, with membership 'swim', the real SWIM core as its liveness source,
 * on a lossy, delayed network in virtual time. n0 founds; the others join over a window; then a
 * steady window measures the cost per node; then one worker crashes (or, with crash 'leader', the
 * leader: the failover as the real-peer bench counts it, and its phases).
 *
 * What it models and what not. Connections (mesh 'partial', the default, as the peers run): a
 * joiner starts linked to n0 and its SWIM seeds; every node then dials what the real dial plan
 * (src/cluster/dials.ts) says, on every tick, each dial linking both ends after one network
 * delay (if the target runs) and meeting both cores as the cluster actor does on a new connection;
 * a message, SWIM's or a record sent point to point, leaves only over a link, and a crash that
 * closes connections is heard by the crashed node's linked peers alone. Mesh 'full' links every
 * pair from the start. Records go to every other node (gossipsub delivers each to each subscriber
 * once; its mesh forwarding is not modelled), or, when the core names who needs them (Ready.to), to
 * those it is linked to, and to all if the core says so for the rest (recordFallsBack); encoded with
 * the real codec so byte counts are payload bytes; each delivery to all is what costs a receiver a
 * signature check in production. SWIM messages go point to point through the real codec.
 * Persistence is instantaneous. Like sim/swim/harness.ts it runs its own synchronous event loop
 * rather than sim/kernel/, which would cost a promise-queue drain per event over hundreds of nodes;
 * the full node (actors/cluster.ts driving both cores) runs in the kernel scenarios
 * (test/sim/cluster-swim.test.ts).
 */
import { encodeRecord } from '../../protocols/cluster/codec.js'
import { decodeSwim, encodeSwim } from '../../protocols/swim/codec.js'
import { ClusterCore, type ClusterOptions } from '../../src/cluster/core.js'
import { DialPlan, likelyLinked, linkedByAll, meshDials, pickNeighbours, PRUNE_CHECK_MS, REDIAL_MS, urgentDials } from '../../src/cluster/dials.js'
import { SwimCore } from '../../src/cluster/swim/core.js'
import { loadValues } from '../../src/cluster/swim/load.js'
import { emptyMetrics, type MemberRecord } from '../../src/cluster/types.js'
import { ScaleLoop, type ScaleRunOptions } from './loop.js'

/** The longest the settling waits for every node's queue of membership updates to drain. */
const DRAIN_MAX_MS = 300_000

/** joinWindowMs defaults to 5 s. */
export interface ClusterScaleOptions extends ScaleRunOptions {
  readonly membership: 'gossip' | 'swim'
  /** Cluster core options besides membership. */
  readonly options?: Partial<ClusterOptions>
  /** Who crashes after the steady window: a worker (default), or the leader (then `failover` is measured). */
  readonly crash?: 'worker' | 'leader'
  /**
   * Whether the crash closes the victim's connections, as a killed process does on a live host:
   * every live node hears it lost (ClusterCore.lost, SwimCore.lost) after one network delay. Default false: a
   * silent host, found by probes alone.
   */
  readonly crashCloses?: boolean
  /** Which pairs are connected: those the dial plan links (default, as the peers run), or all. */
  readonly mesh?: 'partial' | 'full'
  /** Whether nodes hang up the links their plan no longer wants (DialPlan.prune), as the peers do; default true. */
  readonly prune?: boolean
}

/** After the leader's crash, virtual ms until: */
export interface FailoverTimes {
  /** every live node saw it other than up; */
  readonly deadNotUpMs: number | null
  /** every live node named one and the same new leader; */
  readonly newLeaderMs: number | null
  /** that, and every live node saw every other up (what `npm run bench -- scale` counts as failover). */
  readonly failoverMs: number | null
  /** Times some live node saw another live one other than up, sampled every 50 ms until failoverMs. */
  readonly falseNotUp: number
}

export interface ClusterScaleResult {
  readonly nodes: number
  readonly membership: 'gossip' | 'swim'
  /** Virtual ms until every node is up, all agree on one leader, and every node sees every other up; null if never. */
  readonly formationMs: number | null
  /** Virtual ms from formation to the steady window: settleMs, and longer until no node had membership updates queued. */
  readonly settledMs: number | null
  /** Virtual ms from the crash of a worker until every live node sees it down; null if never (or the leader crashed). */
  readonly convergenceMs: number | null
  /** With crash 'leader', after formation. */
  readonly failover?: FailoverTimes
  /** Virtual ms from the crash until the first node saw it suspect or down. */
  readonly detectionMs: number | null
  /**
   * The crashed worker's death as the metric sees it: `spreadMs`, virtual ms from the first node that
   * declared it dead until the last live node took the death in (the truth); `largestAgeMs`, the
   * largest age a node took it in with (dx_swim_convergence_seconds: hops' holding times, transit not
   * counted), which is at most the spread. Null if not every live node took it in.
   */
  readonly death: { readonly spreadMs: number; readonly largestAgeMs: number } | null
  /** Distinct (leader, epoch) pairs the nodes agreed on from formation to the end: 1 when the leader stayed. */
  readonly leaders: number
  /** Over the steady window: records each node took in per second (each costs a signature check in production). */
  readonly recordsPerNodeS: number
  /** The same for the workers alone (neither voters nor the leader at the end of the window), and for the voters. */
  readonly recordsPerWorkerS: number
  readonly recordsPerVoterS: number
  /** Over the steady window: pings a worker and a voter (the leader among the voters) took in per second. */
  readonly pingsPerWorkerS: number
  readonly pingsPerVoterS: number
  /** Over the steady window, per node per second: record payload bytes received, SWIM bytes sent, and both. */
  readonly recordBytesPerNodeS: number
  readonly swimBytesPerNodeS: number
  readonly bytesPerNodeS: number
  /** Over the steady window: records plus SWIM messages the leader handled per second. */
  readonly leaderInputsPerS: number
  /** At the end of the steady window, mean links of a worker: all of them, and those its dial plan would not make now (neither its neighbours, nor a voter, nor a member that picks it). */
  readonly linksPerWorker: number
  readonly unplannedLinksPerWorker: number
  /** Times, after formation, that some node saw a live member other than up (false suspicions, as the cluster sees them). */
  readonly falseNotUp: number
  /** Of those, times it saw it down (a false death). */
  readonly falseDown: number
  readonly virtualMs: number
  readonly wallMs: number
  /** CPU time (user + system) of this process over the run: unlike wall time, it does not grow with the host's load. */
  readonly cpuMs: number
}

interface SimNode {
  readonly index: number
  readonly id: string
  readonly core: ClusterCore
  readonly swim: SwimCore | undefined
  crashed: boolean
  started: boolean
  recordsIn: number
  recordBytesIn: number
  swimBytesOut: number
  /** Pings taken in: a voter's or the leader's against a worker's shows whether probes spread evenly ("Hubs" in src/cluster/swim/core.ts). */
  pingsIn: number
  inputs: number
  readonly links: Set<string>
  readonly dials: DialPlan
  /** The inputs of a dial plan call that started nothing, and until when they stay idle. */
  idleDials: { inputs: string; untilMs: number }
  /** When this node next asks its plan which links to hang up. */
  pruneAtMs: number
}

const TICK_MS = 50

export function runClusterScale(o: ClusterScaleOptions): ClusterScaleResult {
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  const loop = new ScaleLoop(o)
  const { rng, net, loss, waitMs } = loop
  const at = (t: number, fn: () => void): void => loop.at(t, fn)
  const delay = (): number => loop.delay()

  const nodes: SimNode[] = []
  const byId = new Map<string, SimNode>()
  const partial = (o.mesh ?? 'partial') === 'partial'
  const linked = (a: SimNode, b: string): boolean => !partial || a.links.has(b)
  const relays = (n: SimNode, target: string): Set<string> => likelyLinked(target, n.core.currentConfig, n.core.leader(loop.now)?.nodeId, n.core.knownAddresses())
  const hub = (n: SimNode, id: string): boolean => linkedByAll(id, n.core.currentConfig, n.core.leader(loop.now)?.nodeId)
  for (let i = 0; i < o.nodes; i++) {
    const id = `n${String(i).padStart(4, '0')}`
    const links = new Set<string>()
    const swim =
      o.membership === 'swim'
        ? new SwimCore({
            self: id,
            random: rng.fork(`swim/${id}`),
            incarnation: 1,
            ...(partial
              ? {
                  reachable: (other: string) => links.has(other),
                  relays: (target: string) => relays(byId.get(id)!, target),
                  hub: (other: string) => hub(byId.get(id)!, other),
                }
              : {}),
          })
        : undefined
    const core = new ClusterCore({
      self: id,
      addresses: [`/sim/${id}`],
      persisted: undefined,
      founder: i === 0,
      options: { ...o.options, membership: o.membership },
      random: rng.fork(`core/${id}`),
      nowMs: 0,
      ...(swim === undefined ? {} : { liveness: swim }),
    })
    const node: SimNode = {
      index: i,
      id,
      core,
      swim,
      crashed: false,
      started: false,
      recordsIn: 0,
      recordBytesIn: 0,
      swimBytesOut: 0,
      pingsIn: 0,
      inputs: 0,
      links,
      dials: new DialPlan(),
      idleDials: { inputs: '', untilMs: 0 },
      pruneAtMs: 0,
    }
    nodes.push(node)
    byId.set(id, node)
  }

  const publish = (n: SimNode): void => {
    const { publish: record, to } = n.core.takeReady(loop.now)
    if (record === undefined) return
    const bytes = encodeRecord(record).length
    let targets = to === undefined ? nodes : to.map((id) => byId.get(id)!)
    if (to !== undefined && partial) {
      const unreached = to.filter((id) => !n.links.has(id))
      if (unreached.length > 0 && n.core.recordFallsBack(unreached, loop.now)) targets = nodes
      else targets = targets.filter((dst) => n.links.has(dst.id))
    }
    for (const dst of targets) {
      if (dst === n || net.next() < loss) continue
      at(loop.now + delay(), () => deliverRecord(dst, record, bytes))
    }
  }
  const deliverRecord = (dst: SimNode, record: MemberRecord, bytes: number): void => {
    if (dst.crashed || !dst.started) return
    dst.recordsIn++
    dst.recordBytesIn += bytes
    dst.inputs++
    dst.core.receive(record, loop.now)
    publish(dst)
  }
  /** Each node's first death event about the crashed worker: when, and the age it came with. */
  let deathsOf: { readonly victim: string; readonly seen: Map<string, { at: number; ageMs: number | undefined }> } | undefined
  const flushSwim = (n: SimNode): void => {
    const ready = n.swim!.ready()
    if (deathsOf !== undefined)
      for (const e of ready.events) if (e.type === 'dead' && e.member === deathsOf.victim && !deathsOf.seen.has(n.id)) deathsOf.seen.set(n.id, { at: loop.now, ageMs: e.ageMs })
    for (const { to, message } of ready.messages) {
      const bytes = encodeSwim(message)
      n.swimBytesOut += bytes.length
      const dst = byId.get(to)
      if (dst === undefined || !linked(n, to) || net.next() < loss) continue
      at(loop.now + delay(), () => {
        if (dst.crashed || !dst.started) return
        dst.inputs++
        const received = decodeSwim(bytes)
        if (received.type === 'ping') dst.pingsIn++
        dst.swim!.receive(n.id, received, loop.now)
        flushSwim(dst)
      })
    }
  }
  const loadRng = rng.fork('load')
  const tick = (n: SimNode): void => {
    if (n.crashed) return
    if (n.swim !== undefined) {
      if (Math.floor(loop.now / 500) !== Math.floor((loop.now - TICK_MS) / 500)) n.swim.setLoad(loadValues({ ...emptyMetrics(), capacity: 8, running: loadRng.int(0, 2) }))
      n.swim.tick(loop.now)
      flushSwim(n)
    }
    n.core.tick(loop.now)
    publish(n)
    if (partial) dialMembers(n)
    at(loop.now + TICK_MS, () => tick(n))
  }
  /** What the cluster actor does on a new connection: both cores meet the other side. */
  const link = (a: SimNode, b: SimNode): void => {
    if (a.links.has(b.id)) return
    a.links.add(b.id)
    b.links.add(a.id)
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      x.core.met(y.id)
      if (x.swim === undefined) continue
      x.swim.meet(y.id)
      flushSwim(x)
    }
  }
  /**
   * The cluster actor's dialMembers, with the real plan; a dial of a node that does not run fails.
   * The actor runs it on every tick; here a node whose inputs have not changed since a call that
   * started nothing skips it until REDIAL_MS has passed (at 1,000 nodes each call walks 1,000 members).
   */
  const dialMembers = (n: SimNode): void => {
    const leader = n.core.leader(loop.now)?.nodeId
    const leading = n.core.leaderEpoch !== null
    const doubted = n.swim?.doubted() ?? { suspect: new Set<string>(), dead: new Set<string>() }
    const mesh = n.core.memberState(n.id, loop.now) === 'up'
    const config = n.core.currentConfig
    const inputs = `${n.core.knownCount}/${n.links.size}/${leader}/${leading}/${config?.epoch}.${config?.counter}/${[...doubted.suspect].join()}/${[...doubted.dead].join()}/${mesh}`
    const pruneDue = o.prune !== false && loop.now >= n.pruneAtMs
    if (inputs === n.idleDials.inputs && loop.now < n.idleDials.untilMs && !pruneDue) return
    const known = n.core.knownAddresses()
    const urgent = urgentDials({ self: n.id, config, leader, leading, known, doubted })
    const meshAlso = meshDials({ self: n.id, config, leading, doubted })
    if (pruneDue) {
      n.pruneAtMs = loop.now + PRUNE_CHECK_MS
      for (const node of n.dials.prune({ nowMs: loop.now, self: n.id, connected: n.links, urgent, mesh, known, meshAlso, inUse: () => false })) hangUp(n, byId.get(node)!)
    }
    const due = n.dials.due({ nowMs: loop.now, self: n.id, connected: n.links, urgent, mesh, known, meshAlso })
    n.idleDials = due.length === 0 && n.dials.inFlight === 0 ? { inputs, untilMs: loop.now + REDIAL_MS } : { inputs: '', untilMs: 0 }
    for (const { node } of due) {
      at(loop.now + 2 * delay(), () => {
        n.dials.ended(node)
        const dst = byId.get(node)
        if (!n.crashed && dst !== undefined && !dst.crashed && dst.started) {
          link(n, dst)
          n.dials.opened(node)
        } else n.dials.failed(node)
      })
    }
  }

  /** What the cluster actor does when its plan prunes a link: it closes it, and the other side hears it lost after one network delay (its own side knows why). */
  const hangUp = (n: SimNode, dst: SimNode): void => {
    n.links.delete(dst.id)
    dst.links.delete(n.id)
    at(loop.now + delay(), () => {
      if (!dst.crashed && !n.links.has(dst.id)) hearLost(dst, n)
    })
  }
  /** What the cluster actor does when a connection closes under it (`lost`). */
  const hearLost = (n: SimNode, peer: SimNode): void => {
    n.links.delete(peer.id)
    peer.links.delete(n.id)
    n.dials.closed(peer.id)
    n.core.lost(peer.id)
    if (n.swim === undefined) return
    n.swim.lost(peer.id, loop.now)
    flushSwim(n)
  }

  const live = (): SimNode[] => nodes.filter((n) => !n.crashed)
  const crash = (victim: SimNode): void => {
    victim.crashed = true
    // A silent host's links stay open on the other side until probes find it; closed ones are heard of by the linked peers alone.
    if (o.crashCloses !== true) return
    for (const n of partial ? [...victim.links].map((id) => byId.get(id)!) : live()) {
      at(loop.now + delay(), () => {
        if (!n.crashed) hearLost(n, victim)
      })
    }
  }
  const agreedLeader = (): string | null => {
    let key: string | null = null
    for (const n of live()) {
      const l = n.core.leader(loop.now)
      if (l === null) return null
      const k = `${l.nodeId}@${l.epoch}`
      if (key !== null && k !== key) return null
      key = k
    }
    return key
  }
  /** The pair (n, m) where `formed` last found n not seeing m up: checked first, as it usually still fails (the full check is N²). */
  let unformed: [SimNode, SimNode] | undefined
  const formed = (): boolean => {
    if (unformed !== undefined && unformed[0].core.memberState(unformed[1].id, loop.now) !== 'up') return false
    const l = live()
    if (!l.every((n) => n.started && n.core.memberState(n.id, loop.now) === 'up') || agreedLeader() === null) return false
    for (const n of l) {
      for (const m of l) {
        if (n.core.memberState(m.id, loop.now) === 'up') continue
        unformed = [n, m]
        return false
      }
    }
    return true
  }
  const runUntil = (limit: number, done: () => boolean, everyMs = 250): number | null => loop.runUntil(limit, done, everyMs)

  const joinWindow = o.joinWindowMs ?? 5_000
  for (const n of nodes) {
    at(n.index === 0 ? 0 : rng.next() * joinWindow, () => {
      n.started = true
      // Every joiner bootstraps from n0: its one connection at the start (ClusterCore.met).
      if (n.index !== 0) n.core.met(nodes[0]!.id)
      if (n.swim !== undefined) {
        const other = nodes[Math.floor(rng.next() * Math.max(1, n.index))]!
        if (partial && n.index !== 0) for (const seed of new Set([nodes[0]!, other])) if (seed.started && !seed.crashed) link(n, seed)
        n.swim.join(n.index === 0 ? [] : [...new Set([nodes[0]!.id, other.id])], loop.now)
        flushSwim(n)
      }
      tick(n)
    })
  }

  const formedAt = runUntil(joinWindow + waitMs, formed)
  const leaders = new Set<string>()
  let falseNotUp = 0
  let falseDown = 0
  /** After formation: the agreed leader, and every live node seeing every other live node up. */
  const watch = (): boolean => {
    const l = agreedLeader()
    if (l !== null) leaders.add(l)
    const alive = live()
    for (const n of alive)
      for (const m of alive) {
        const state = n.core.memberState(m.id, loop.now)
        if (state !== 'up') falseNotUp++
        if (state === 'down') falseDown++
      }
    return false
  }
  if (formedAt !== null) {
    runUntil(loop.now + (o.settleMs ?? 10_000), watch, 500)
    runUntil(loop.now + DRAIN_MAX_MS, () => (watch(), live().every((n) => (n.swim?.queuedUpdates ?? 0) === 0)), 1_000)
  }
  const settledMs = formedAt === null ? null : loop.now - formedAt
  const base = nodes.map((n) => ({ recordsIn: n.recordsIn, recordBytesIn: n.recordBytesIn, swimBytesOut: n.swimBytesOut, pingsIn: n.pingsIn, inputs: n.inputs }))
  const steadyStart = loop.now
  if (formedAt !== null) runUntil(loop.now + (o.steadyMs ?? 10_000), watch, 500)
  const seconds = Math.max(1e-9, (loop.now - steadyStart) / 1000)
  const sum = (f: (n: SimNode) => number): number => nodes.reduce((a, n) => a + f(n), 0) / nodes.length / seconds
  const recordsPerNodeS = sum((n) => n.recordsIn - base[n.index]!.recordsIn)
  const voterIds = new Set(nodes[0]!.core.currentConfig?.members ?? [])
  const perS = (group: SimNode[], count: 'recordsIn' | 'pingsIn'): number => group.reduce((a, n) => a + n[count] - base[n.index]![count], 0) / Math.max(1, group.length) / seconds
  const workersAtEnd = nodes.filter((n) => !voterIds.has(n.id) && n.core.leaderEpoch === null)
  const votersAtEnd = nodes.filter((n) => voterIds.has(n.id))
  const recordsPerWorkerS = perS(workersAtEnd, 'recordsIn')
  const recordsPerVoterS = perS(votersAtEnd, 'recordsIn')
  const pingsPerWorkerS = perS(workersAtEnd, 'pingsIn')
  const pingsPerVoterS = perS(votersAtEnd, 'pingsIn')
  const recordBytesPerNodeS = sum((n) => n.recordBytesIn - base[n.index]!.recordBytesIn)
  const swimBytesPerNodeS = sum((n) => n.swimBytesOut - base[n.index]!.swimBytesOut)
  const leaderId = [...leaders][0]?.split('@')[0]
  const leaderNode = leaderId === undefined ? undefined : byId.get(leaderId)
  const leaderInputsPerS = leaderNode === undefined ? 0 : (leaderNode.inputs - base[leaderNode.index]!.inputs) / seconds
  const workerNodes = nodes.filter((n) => !n.crashed && !voterIds.has(n.id) && n.core.leaderEpoch === null)
  const known = nodes[0]!.core.knownAddresses()
  const picks = new Map(nodes.map((n) => [n.id, pickNeighbours(n.id, known, voterIds)]))
  const linksPerWorker = workerNodes.reduce((a, n) => a + n.links.size, 0) / Math.max(1, workerNodes.length)
  const unplannedLinksPerWorker =
    workerNodes.reduce((a, n) => a + [...n.links].filter((m) => !voterIds.has(m) && !picks.get(n.id)!.has(m) && !picks.get(m)?.has(n.id)).length, 0) /
    Math.max(1, workerNodes.length)

  let convergenceMs: number | null = null
  let detectionMs: number | null = null
  let death: ClusterScaleResult['death'] = null
  let failover: FailoverTimes | undefined
  const current = formedAt === null ? undefined : byId.get(agreedLeader()?.split('@')[0] ?? '')
  if (o.crash === 'leader' && current !== undefined) {
    const leaderNode = current
    crash(leaderNode)
    const crashAt = loop.now
    let deadNotUpMs: number | null = null
    let newLeaderMs: number | null = null
    let failoverMs: number | null = null
    let falseNotUpAfter = 0
    const done = (): boolean => {
      const alive = live()
      if (deadNotUpMs === null && alive.every((n) => n.core.memberState(leaderNode.id, loop.now) !== 'up')) deadNotUpMs = loop.now - crashAt
      const l = agreedLeader()
      const moved = l !== null && !l.startsWith(`${leaderNode.id}@`)
      if (newLeaderMs === null && moved) newLeaderMs = loop.now - crashAt
      if (failoverMs === null) {
        let allUp = true
        for (const n of alive) for (const m of alive) if (n.core.memberState(m.id, loop.now) !== 'up') ((allUp = false), falseNotUpAfter++)
        if (moved && allUp) failoverMs = loop.now - crashAt
      }
      return failoverMs !== null && deadNotUpMs !== null
    }
    runUntil(crashAt + waitMs, done, 50)
    failover = { deadNotUpMs, newLeaderMs, failoverMs, falseNotUp: falseNotUpAfter }
    const l = agreedLeader()
    if (l !== null) leaders.add(l)
  } else if (formedAt !== null) {
    const voters = new Set(nodes[0]!.core.currentConfig?.members ?? [])
    const workers = nodes.filter((n) => !voters.has(n.id) && n.id !== leaderId)
    const victim = workers[Math.floor(rng.next() * workers.length)]
    if (victim !== undefined) {
      deathsOf = { victim: victim.id, seen: new Map() }
      crash(victim)
      const crashAt = loop.now
      const seen = (state: (s: string) => boolean) => (): boolean => live().every((n) => state(n.core.memberState(victim.id, loop.now)))
      const first = (): boolean => live().some((n) => n.core.memberState(victim.id, loop.now) !== 'up')
      const detected = runUntil(loop.now + waitMs, first, 50)
      detectionMs = detected === null ? null : detected - crashAt
      const converged = runUntil(
        crashAt + waitMs,
        seen((s) => s === 'down'),
        100,
      )
      convergenceMs = converged === null ? null : converged - crashAt
      const deaths = live().map((n) => deathsOf!.seen.get(n.id))
      if (o.membership === 'swim' && deaths.every((d) => d?.ageMs !== undefined)) {
        const declared = Math.min(...deaths.map((d) => d!.at - d!.ageMs!))
        death = { spreadMs: Math.max(...deaths.map((d) => d!.at)) - declared, largestAgeMs: Math.max(...deaths.map((d) => d!.ageMs!)) }
      }
      const l = agreedLeader()
      if (l !== null) leaders.add(l)
    }
  }
  return {
    nodes: o.nodes,
    membership: o.membership,
    formationMs: formedAt,
    settledMs,
    convergenceMs,
    detectionMs,
    death,
    ...(failover === undefined ? {} : { failover }),
    leaders: leaders.size,
    recordsPerNodeS,
    recordsPerWorkerS,
    recordsPerVoterS,
    pingsPerWorkerS,
    pingsPerVoterS,
    recordBytesPerNodeS,
    swimBytesPerNodeS,
    bytesPerNodeS: recordBytesPerNodeS + swimBytesPerNodeS,
    leaderInputsPerS,
    linksPerWorker,
    unplannedLinksPerWorker,
    falseNotUp,
    falseDown,
    virtualMs: loop.now,
    wallMs: performance.now() - wallStart,
    cpuMs: cpuMs(process.cpuUsage(cpuStart)),
  }
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000
}

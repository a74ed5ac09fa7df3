/**
 * The placement simulator: the real scheduler core and placement policies, with synthetic
 * executors in simulated time. One leader dispatches every job; each node runs `capacity` jobs at
 * once at its own speed, FIFO, and gossips (running, queued) every G with its own random phase;
 * completions reach the leader at once (as executor reports do), so the leader's accounting is
 * fresh and gossip staleness affects only what policies read from gossip. A job's hint, when the
 * scenario gives one, is its true size times lognormal(0, sigma) noise (a noisy oracle); the
 * learnt predictor is fed every completion, as the leader's analytics is fed executor summaries.
 *
 * With `dag`, each arrival is a workflow of 2..maxTasks tasks with dependencies (the scheduler
 * core releases a task when its dependencies finish) and the JCTs are per workflow (its makespan:
 * arrival to its last task's finish). A policy name may end in `+rank`: the submitter then gives
 * each task HEFT's upward rank (from the hints) as its priority, which orders the leader's queue;
 * with `+steal`, idle nodes steal attempts waiting in overcommitted nodes' queues (answered at once);
 * with `+cp`, the leader's queue runs ready tasks in critical-path order (SchedulerCoreOptions.order).
 *
 * Deterministic: everything is drawn from one seeded Random; the same (scenario, policy, seed)
 * gives the same result. Time unit: ms, with the mean job taking WORK_MS on a node of speed 1.
 */
import { SeededRandom } from '../../src/env/prng.js'
import { resolveJobOptions, TIMER_MAX_MS } from '../../src/jobs/options.js'
import { createPlacement } from '../../src/jobs/placement/index.js'
import type { PlacementModel } from '../../src/jobs/placement.js'
import { SchedulerCore, type Candidate } from '../../src/jobs/scheduler-core.js'
import type { JobSpec } from '../../src/jobs/types.js'
import { DurationPredictor } from '../../src/predict/duration.js'
import { MinHeap } from '../../src/util/heap.js'
import type { Random } from '../../src/env/types.js'
import { exponential, googleSpeeds, normal, randomDag, SizeSampler, upwardRanks, type SizeDist } from './workload.js'

/** Mean work of a job, ms at speed 1. */
export const WORK_MS = 1000

export interface PlacementScenario {
  readonly name: string
  readonly description: string
  readonly nodes: number
  readonly speeds: 'google' | 'homogeneous'
  readonly capacity: number
  readonly sizes: SizeDist
  /** Offered load: arrival rate x mean work / total speed. */
  readonly rho: number
  /** Gossip period as a multiple of the mean job (G). */
  readonly gossip: number
  readonly jobs: number
  /** Sigma of the noise on each job's duration hint; null: no hints (the predictor learns per type). */
  readonly hintNoise: number | null
  /** Poisson arrivals, or a 2-state MMPP with a 9:1 peak-to-median rate. */
  readonly arrivals: 'poisson' | 'mmpp'
  /** Attempts per unit of capacity a node may hold; Infinity is the push model of the research note. */
  readonly overcommit: number
  /** Policies see the true node speeds instead of learning them (for checks against theory). */
  readonly knownSpeeds?: boolean
  /** Workflows of 2..maxTasks dependent tasks instead of single jobs (S7-DAG). */
  readonly dag?: { readonly maxTasks: number }
}

export interface PolicyRun {
  readonly policy: string
  readonly seed: number
  /** Job completion time (arrival to finish), in mean-job units, after the 10% warm-up. */
  readonly meanJct: number
  readonly p50Jct: number
  readonly p99Jct: number
  /** First arrival to last finish, in mean-job units. */
  readonly makespan: number
  /** Busy node-time over available node-time until the makespan. */
  readonly utilisation: number
  /** JCTs after warm-up, sorted (for CDFs). */
  readonly jcts: Float64Array
  /** Jobs finished / submitted (1 unless the run was cut short). */
  readonly completed: number
}

/** A policy name, or `oracle` (eect with exact hints and known speeds), optionally with `+rank`, `+steal` (idle nodes steal queued attempts) or `+cp` (critical-path order). */
export type SimPolicy = string

interface Node {
  readonly id: string
  readonly speed: number
  readonly queue: Array<{ job: string; key: string; work: number; type: string }>
  running: number
  busyMs: number
  gossip: { atMs: number; running: number; queued: number }
}

type EventBody = { at: number } & (
  { kind: 'arrival' } | { kind: 'done'; node: number; job: string; key: string; type: string; startedAt: number; work: number } | { kind: 'gossip'; node: number }
)
type Event = EventBody & { seq: number }

/** The learnt predictor's durations with the true node speeds. */
class KnownSpeedModel implements PlacementModel {
  constructor(
    private readonly predictor: DurationPredictor,
    private readonly speeds: Map<string, number>,
  ) {}
  predict(type: string, node: string | null, hintMs: number | null): { p50Ms: number; p90Ms: number } {
    const p = this.predictor.predict(type, null, hintMs)
    const s = node === null ? 1 : this.speeds.get(node)!
    return { p50Ms: p.p50Ms / s, p90Ms: p.p90Ms / s }
  }
  speed(node: string): number {
    return this.speeds.get(node) ?? 1
  }
}

/** Known speeds and exact hints: what the oracle placement sees. */
class OracleModel implements PlacementModel {
  constructor(private readonly speeds: Map<string, number>) {}
  predict(_type: string, node: string | null, hintMs: number | null): { p50Ms: number; p90Ms: number } {
    const d = (hintMs ?? WORK_MS) / (node === null ? 1 : this.speeds.get(node)!)
    return { p50Ms: d, p90Ms: d }
  }
  speed(node: string): number {
    return this.speeds.get(node) ?? 1
  }
}

/**
 * The arrivals of a scenario and seed: node speeds, then each arrival's tasks (dependencies and
 * drawn sizes) and the gap to the next. Its streams do not depend on the policy, so every policy
 * (and the offline HEFT reference, heft.ts) sees the same jobs.
 */
export class ArrivalStream {
  readonly speeds: number[]
  private readonly sizes: SizeSampler
  private readonly arrivalsRandom: Random
  private readonly dagRandom: Random
  private readonly meanGap: number
  private mmppHigh = false
  private mmppSwitchAt = 0

  constructor(
    private readonly scenario: PlacementScenario,
    random: Random,
  ) {
    this.speeds = scenario.speeds === 'google' ? googleSpeeds(scenario.nodes, random.fork('speeds')) : new Array<number>(scenario.nodes).fill(1)
    this.sizes = new SizeSampler(scenario.sizes, random.fork('sizes'))
    this.arrivalsRandom = random.fork('arrivals')
    this.dagRandom = random.fork('dag')
    const totalSpeed = this.speeds.reduce((a, b) => a + b, 0) * scenario.capacity
    const tasksPerArrival = scenario.dag === undefined ? 1 : (2 + scenario.dag.maxTasks) / 2
    this.meanGap = (WORK_MS * tasksPerArrival) / (scenario.rho * totalSpeed)
  }

  /** The next arrival's tasks in topological order, at most `left` of them. */
  tasks(left: number): { deps: number[][]; drawn: Array<{ type: string; size: number }> } {
    const dag = this.scenario.dag
    const deps = dag === undefined ? [[]] : randomDag(this.dagRandom, Math.min(left, this.dagRandom.int(2, dag.maxTasks)))
    return { deps, drawn: deps.map(() => this.sizes.draw()) }
  }

  /** The time from an arrival at `now` to the next. */
  gap(now: number): number {
    if (this.scenario.arrivals !== 'mmpp') return exponential(this.arrivalsRandom, this.meanGap)
    // Two states, mean sojourn 100 jobs' time; the high state arrives 9x faster, chosen so the mean rate matches rho.
    if (now >= this.mmppSwitchAt) {
      this.mmppHigh = !this.mmppHigh
      this.mmppSwitchAt = now + exponential(this.arrivalsRandom, 100 * WORK_MS)
    }
    const low = this.meanGap * 5
    return exponential(this.arrivalsRandom, this.mmppHigh ? low / 9 : low)
  }
}

export function runPlacement(scenario: PlacementScenario, policy: SimPolicy, seed: number): PolicyRun {
  const random = new SeededRandom(`placement:${scenario.name}:${seed}`)
  const stream = new ArrivalStream(scenario, random)
  const speeds = stream.speeds
  const noise = random.fork('noise')
  const phases = random.fork('phases')
  const nodes: Node[] = speeds.map((speed, i) => ({ id: `n${String(i).padStart(3, '0')}`, speed, queue: [], running: 0, busyMs: 0, gossip: { atMs: 0, running: 0, queued: 0 } }))

  const [base, modifier] = policy.split('+') as [string, string | undefined]
  const ranked = modifier === 'rank'
  const criticalPath = modifier === 'cp'
  const stealing = modifier === 'steal'
  const oracle = base === 'oracle'
  const predictor = new DurationPredictor()
  const trueSpeeds = new Map(nodes.map((n) => [n.id, n.speed]))
  const model: PlacementModel = oracle ? new OracleModel(trueSpeeds) : scenario.knownSpeeds === true ? new KnownSpeedModel(predictor, trueSpeeds) : predictor
  const placement = createPlacement(oracle ? 'eect' : base, { random: random.fork(`policy:${policy}`), model, overcommit: scenario.overcommit, localPreference: 0 })
  const core = new SchedulerCore(1, placement, random.fork('core'), {
    maxQueued: scenario.jobs + (scenario.dag?.maxTasks ?? 1),
    retention: { maxFinished: 1000, maxAgeMs: Infinity },
    steal: stealing,
    speed: (node) => model.speed(node),
    ...(criticalPath ? { order: 'critical-path' as const, duration: (type: string, hintMs: number | null) => model.predict(type, null, hintMs).p50Ms } : {}),
  })
  const types = new Set<string>()

  const events = new MinHeap<Event>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq))
  let seq = 0
  const at = (e: EventBody): void => events.push({ ...e, seq: seq++ })
  const gossipMs = scenario.gossip * WORK_MS
  nodes.forEach((_, i) => at({ at: phases.next() * gossipMs, kind: 'gossip', node: i }))
  at({ at: 0, kind: 'arrival' })

  const arrivedAt = new Map<string, number>()
  const works = new Map<string, { work: number; type: string; hint: number | null }>()
  const jcts: Array<{ arrival: number; jct: number }> = []
  /** Per workflow (dag): arrival and tasks not yet finished; per task, its workflow. */
  const workflows = new Map<string, { arrival: number; left: number }>()
  const workflowOf = new Map<string, string>()
  let arrivals = 0
  let finished = 0
  let submitted = 0
  let now = 0
  let lastFinish = 0
  const byId = new Map(nodes.map((n, i) => [n.id, i]))
  const candidates = (): Candidate[] => nodes.map((n) => ({ node: n.id, capacity: scenario.capacity, types, eventLoopLagMs: 0, gossip: n.gossip }))

  const startNext = (i: number): void => {
    const n = nodes[i]!
    while (n.running < scenario.capacity && n.queue.length > 0) {
      const j = n.queue.shift()!
      n.running++
      at({ at: now + j.work / n.speed, kind: 'done', node: i, job: j.job, key: j.key, type: j.type, startedAt: now, work: j.work })
    }
  }
  const perform = (): void => {
    let effects = core.takeEffects()
    while (effects.append.length > 0 || effects.assign.length > 0 || effects.steal.length > 0) {
      for (const r of effects.append) core.apply(r)
      // A steal is answered at once: the attempt is given up if it still waits in the node's queue.
      for (const s of effects.steal) {
        const queue = nodes[byId.get(s.node)!]!.queue
        const i = queue.findIndex((q) => q.key === s.attemptKey)
        if (i !== -1) queue.splice(i, 1)
        core.stealAnswered(s.attemptKey, i !== -1, now)
      }
      for (const a of effects.assign) {
        const i = byId.get(a.node)!
        const w = works.get(a.spec.id)!
        nodes[i]!.queue.push({ job: a.spec.id, key: a.attemptKey, work: w.work, type: w.type })
        startNext(i)
      }
      effects = core.takeEffects()
    }
  }
  const dispatch = (): void => {
    core.dispatch(now, now, candidates())
    perform()
  }

  while (events.size > 0) {
    const e = events.pop()!
    now = e.at
    switch (e.kind) {
      case 'arrival': {
        const { deps, drawn } = stream.tasks(scenario.jobs - submitted)
        const hints = drawn.map((d) => (scenario.hintNoise === null ? undefined : Math.max(1, d.size * WORK_MS * Math.exp(oracle ? 0 : normal(noise) * scenario.hintNoise))))
        const ranks = ranked
          ? upwardRanks(
              deps,
              hints.map((h, i) => h ?? drawn[i]!.size * WORK_MS),
            )
          : undefined
        const wf = `w${arrivals++}`
        if (scenario.dag !== undefined) workflows.set(wf, { arrival: now, left: deps.length })
        const ids = deps.map(() => `j${submitted++}`)
        const specs: JobSpec[] = deps.map((ds, i) => {
          const { type, size } = drawn[i]!
          types.add(type)
          const id = ids[i]!
          const hint = hints[i]
          arrivedAt.set(id, now)
          works.set(id, { work: size * WORK_MS, type, hint: hint ?? null })
          if (scenario.dag !== undefined) workflowOf.set(id, wf)
          const options = resolveJobOptions({
            timeoutMs: TIMER_MAX_MS,
            retries: 0,
            ...(hint === undefined ? {} : { durationHintMs: hint }),
            ...(ds.length === 0 ? {} : { dependsOn: ds.map((d) => ids[d]!) }),
            ...(ranks === undefined ? {} : { priority: ranks[i]! }),
          })
          return { id, type, input: null, options, submittedAt: now }
        })
        core.submit(specs, types)
        perform()
        dispatch()
        if (submitted < scenario.jobs) at({ at: now + stream.gap(now), kind: 'arrival' })
        break
      }
      case 'done': {
        const n = nodes[e.node]!
        n.running--
        n.busyMs += now - e.startedAt
        lastFinish = now
        finished++
        const wf = workflowOf.get(e.job)
        if (wf === undefined) jcts.push({ arrival: arrivedAt.get(e.job)!, jct: now - arrivedAt.get(e.job)! })
        else {
          const w = workflows.get(wf)!
          workflowOf.delete(e.job)
          if (--w.left === 0) {
            jcts.push({ arrival: w.arrival, jct: now - w.arrival })
            workflows.delete(wf)
          }
        }
        arrivedAt.delete(e.job)
        if (!oracle) predictor.observe(e.type, now - e.startedAt, n.id, works.get(e.job)!.hint)
        works.delete(e.job)
        core.attemptFinished(e.job, e.key, { ok: true, value: null }, now)
        perform()
        startNext(e.node)
        dispatch()
        break
      }
      case 'gossip': {
        const n = nodes[e.node]!
        n.gossip = { atMs: now, running: n.running, queued: n.queue.length }
        if (finished < scenario.jobs) at({ at: now + gossipMs, kind: 'gossip', node: e.node })
        break
      }
    }
  }
  jcts.sort((a, b) => a.arrival - b.arrival)
  const kept = Float64Array.from(jcts.slice(Math.floor(jcts.length / 10)).map((j) => j.jct / WORK_MS)).sort()
  const mean = kept.reduce((a, b) => a + b, 0) / kept.length
  const q = (p: number): number => kept[Math.min(kept.length - 1, Math.floor(p * kept.length))]!
  const busy = nodes.reduce((s, n) => s + n.busyMs, 0)
  return {
    policy,
    seed,
    meanJct: mean,
    p50Jct: q(0.5),
    p99Jct: q(0.99),
    makespan: lastFinish / WORK_MS,
    utilisation: busy / (lastFinish * nodes.length * scenario.capacity),
    jcts: kept,
    completed: finished / submitted,
  }
}

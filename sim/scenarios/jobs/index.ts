/**
 * The `jobs` scenario: whole DistributeX nodes (cluster, executor, job client, and the scheduler on
 * whichever node leads) on the simulated network, the simulated job log and the simulated cache.
 * Every node submits jobs at a steady rate; each job sleeps a random while and returns a value that
 * names the node that ran it, so two visible results for one job would differ.
 *
 * History checks (end): every acknowledged job's submission is in the log; each job's recorded
 * outcome (its first final record) is the only result anyone saw (clients, cache); nothing ran or
 * finished that was never submitted. Liveness: after the final heal every acknowledged job has a
 * recorded outcome and the cluster agrees on one leader.
 *
 * The leader snapshots every few dozen records and the log compacts, so the checks read the log's
 * whole history (every record ever appended), and one more checks what a new leader would see:
 * replaying the compacted log (src/jobs/replay.ts) knows every acknowledged job, with the outcome
 * the history recorded, unless the job finished and expired (the leader keeps only `retainJobs`
 * finished jobs): then it is in the expired-id filter (which remembers at least the last
 * max(1024, retainJobs) expirations; older ones may fade), and no more than `retainJobs` are held.
 */
import { defineJob } from '../../../src/jobs/define.js'
import { decodeJobRecord } from '../../../protocols/jobs/codec.js'
import { decodeOutcome } from '../../../src/jobs/result-cache.js'
import { LeastLoadedPlacement } from '../../../src/jobs/placement.js'
import { Replayer } from '../../../src/jobs/replay.js'
import { SeededRandom } from '../../../src/env/prng.js'
import { SchedulerCore } from '../../../src/jobs/scheduler-core.js'
import { assembleNode, type AssembledNode } from '../../../src/node/assemble.js'
import type { JobOutcome } from '../../../src/jobs/types.js'
import type { LogRecord } from '../../../src/storage/types.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'
import type { PlacementName } from '../../../src/jobs/placement/index.js'
import type { AnalyticsOptions } from '../../../src/predict/analytics.js'

/** Options of the jobs scenario. */
export interface JobsScenarioInit {
  /** Time between submissions of one node. */
  submitEveryMs?: number
  /** Longest run of one job. */
  jobMaxMs?: number
  /**
   * The job log the nodes use: the simulated shared service (default), or the log replicated among
   * the nodes (sim/scenarios/replicated), whose committed history `records` then returns.
   */
  jobLog?: { kind: 'service' } | { kind: 'replicated'; records: (world: World<AssembledNode>) => readonly LogRecord[] }
  /** Records between the leader's snapshots; small, so that compaction happens in every run. */
  snapshotEveryRecords?: number
  /** Finished jobs the leader keeps; small, so that jobs expire in every run. */
  retainJobs?: number
  /** Bytes of state per snapshot record (default: the production size, so a snapshot here is one record). */
  snapshotPartBytes?: number
  /** The replicated log's largest batch to a follower (default: the production size). */
  replicationBatchMaxBytes?: number
  /** The placement policy (default: the cluster default). */
  placement?: PlacementName
  /** Tuning of the leader's analytics (predictions, forecasts, alerts). */
  analytics?: AnalyticsOptions
  /** Workers per node (default: the job type's default concurrency). */
  concurrency?: number
  /** Jobs each node submits at once, every `submitEveryMs` (default 1). */
  burst?: number
  /** Nodes whose jobs run this many times longer: their queues fill while the others drain, so idle peers steal from them. */
  slow?: Readonly<Record<string, number>>
  /** Whether idle peers steal queued attempts (default: the scheduler's default). */
  steal?: boolean
  /** Worker slots each job declares (`resources.slots`; default 1). */
  slots?: number
  /** Each attempt's timeout (default 2 s, times the slowest node's factor). */
  timeoutMs?: number
}

const FOUNDER = 'n0'
/** How long a job acknowledged without faults may take to finish (up to 1 s of work on a slow node, plus its queue). */
const IN_FLIGHT_MS = 3_000

export function jobsScenario(init: JobsScenarioInit = {}): Scenario<AssembledNode> {
  const submitEveryMs = init.submitEveryMs ?? 200
  const jobMaxMs = init.jobMaxMs ?? 100
  const logConfig = init.jobLog ?? { kind: 'service' }
  /** Every record ever made durable, compacted or not. */
  const records = (world: World<AssembledNode>): readonly LogRecord[] => (logConfig.kind === 'service' ? world.jobLog.history : logConfig.records(world))
  const snapshotEveryRecords = init.snapshotEveryRecords ?? 40
  const retainJobs = init.retainJobs ?? 200
  const acked = new Map<string, number>()
  const seen = new Map<string, unknown>()
  const executions = new Map<string, number>()
  /** When each job was acknowledged: the liveness check leaves the ones still in flight (IN_FLIGHT_MS). */
  const ackedAt = new Map<string, number>()
  /** Acknowledged jobs whose submitter still waits for the result, with the incarnation that waits. */
  const waiting = new Map<string, { node: number; incarnation: number }>()
  let submitted = 0
  const burst = init.burst ?? 1
  /** Simulated time from each submission to its result, for the summary. */
  const latencies: number[] = []
  /** Each node's job type: the same on every node but for its speed. */
  const workOn = (node: string) =>
    defineJob(
      'work',
      async (input: { n: number; id?: string }, ctx) => {
        executions.set(ctx.jobId, (executions.get(ctx.jobId) ?? 0) + 1)
        await ctx.env.timers.sleep(ctx.env.random.int(1, jobMaxMs) * (init.slow?.[node] ?? 1), { signal: ctx.signal })
        return { double: input.n * 2, by: ctx.env.random.id().slice(0, 6) }
      },
      {
        ...(init.concurrency === undefined ? {} : { concurrency: init.concurrency }),
        ...(init.slots === undefined ? {} : { resources: { slots: init.slots } }),
      },
    )
  const work = workOn(FOUNDER)
  /** Attempts the running incarnations gave up to idle peers. */
  const released = (world: World<AssembledNode>): number => world.nodes.reduce((sum, n) => sum + (n.app?.stats.released ?? 0), 0)

  return {
    name: 'jobs',
    boot(ctx) {
      return assembleNode(
        { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: logConfig.kind === 'service' ? ctx.jobLog : 'replicated', replicaLog: ctx.replicaLog, cache: ctx.cache },
        {
          founder: ctx.id === FOUNDER,
          jobs: [workOn(ctx.id)],
          snapshot: { everyRecords: snapshotEveryRecords, ...(init.snapshotPartBytes === undefined ? {} : { partBytes: init.snapshotPartBytes }) },
          ...(init.replicationBatchMaxBytes === undefined ? {} : { replication: { batchMaxBytes: init.replicationBatchMaxBytes } }),
          retention: { maxFinished: retainJobs, maxAgeMs: 24 * 3600_000 },
          ...(init.placement === undefined ? {} : { placement: init.placement }),
          ...(init.analytics === undefined ? {} : { analytics: init.analytics }),
          ...(init.steal === undefined ? {} : { steal: init.steal }),
        },
      )
    },
    workload(world, endMs) {
      const timeoutMs = init.timeoutMs ?? 2000 * Math.max(1, ...Object.values(init.slow ?? {}))
      const submitOne = (app: AssembledNode, node: (typeof world.nodes)[number]): void => {
        const n = submitted++
        const at = world.nowMs
        app.jobs.submit(work, { n }, { retries: 10, timeoutMs, backoff: { minMs: 50, maxMs: 1000 } }).then(
          (handle) => {
            acked.set(handle.id, n)
            ackedAt.set(handle.id, world.nowMs)
            waiting.set(handle.id, { node: node.index, incarnation: node.owner.incarnation })
            handle.result().then(
              (value) => {
                latencies.push(world.nowMs - at)
                seen.set(handle.id, value)
                waiting.delete(handle.id)
              },
              () => waiting.delete(handle.id),
            )
          },
          () => {},
        )
      }
      for (const node of world.nodes) {
        const tick = (): void => {
          if (world.nowMs >= endMs) return
          world.at(world.nowMs + submitEveryMs, tick)
          const app = node.app
          if (app === undefined || node.owner.status !== 'up') return
          for (let b = 0; b < burst; b++) submitOne(app, node)
        }
        world.at(1000 + node.index * 7, tick)
      }
    },
    invariants: [],
    liveness: {
      boundMs: 10_000,
      check(world) {
        const finished = recorded(records(world))
        // The workload goes on after the heal, so an instant with no job in flight is chance (seed 7
        // of jobs-steal without stealing found none in 10 s once a change to SWIM moved the timing):
        // jobs acknowledged in the last IN_FLIGHT_MS may still run; every older one must be done.
        const due = (id: string): boolean => world.nowMs - ackedAt.get(id)! >= IN_FLIGHT_MS
        // A submitter that lives on must hear every result (a lost push is made up by its rewatch).
        for (const [id, w] of waiting) {
          const owner = world.nodes[w.node]!.owner
          if (due(id) && owner.incarnation === w.incarnation && owner.status === 'up') return `n${w.node} still waits for the result of job ${id}`
        }
        for (const id of acked.keys()) if (due(id) && !finished.has(id)) return `acknowledged job ${id} has no recorded outcome`
        const leaders = new Set(world.nodes.map((n) => JSON.stringify(n.app?.cluster.view()?.leader ?? null)))
        return leaders.size === 1 && !leaders.has('null') ? undefined : `leaders: ${[...leaders].join(' ')}`
      },
    },
    final: [
      {
        name: 'acknowledged-jobs-are-durable',
        check(world) {
          const inLog = new Set<string>()
          for (const r of records(world)) {
            const record = decodeJobRecord(r.payload)
            if (record.kind === 'submitted') inLog.add(record.spec.id)
          }
          const lost = [...acked.keys()].filter((id) => !inLog.has(id))
          return lost.length === 0 ? undefined : `${lost.length} acknowledged jobs are not in the job log, e.g. ${lost[0]}`
        },
      },
      {
        name: 'one-visible-result-per-job',
        check(world) {
          const outcomes = recorded(records(world))
          for (const [id, value] of seen) {
            const first = outcomes.get(id)
            if (first === undefined || !first.ok || !same(first.value, value)) return `job ${id}: a client saw ${JSON.stringify(value)}, the log recorded ${JSON.stringify(first)}`
          }
          for (const [key, entry] of world.cache.entries) {
            if (!key.startsWith('job:')) continue
            const id = key.slice(4)
            const cached = decodeOutcome(entry.value)
            if (cached === undefined || !same(cached, outcomes.get(id)))
              return `job ${id}: the cache holds ${JSON.stringify(cached)}, the log recorded ${JSON.stringify(outcomes.get(id))}`
          }
          return undefined
        },
      },
      {
        name: 'no-unexpected-work',
        check(world) {
          const submittedIds = new Set<string>()
          for (const r of records(world)) {
            const record = decodeJobRecord(r.payload)
            if (record.kind === 'submitted') submittedIds.add(record.spec.id)
            else if (record.kind !== 'snapshot' && !submittedIds.has(record.id)) return `job ${record.id} finished in the log before any submission`
          }
          for (const id of executions.keys()) if (!submittedIds.has(id)) return `job ${id} ran without a durable submission`
          return undefined
        },
      },
      {
        name: 'compacted-log-holds-everything',
        check(world) {
          // The replicated scenario checks its own compacted copies (every new leader holds every committed entry).
          if (logConfig.kind !== 'service') return undefined
          // The log's first record is a snapshot the leader checked, if the log was compacted.
          const replayer = new Replayer(
            () => new SchedulerCore(0, new LeastLoadedPlacement(), new SeededRandom(0), { retention: { maxFinished: retainJobs, maxAgeMs: 24 * 3600_000 } }),
            world.jobLog.startOffset > 0 ? world.jobLog.startOffset : undefined,
          )
          for (const r of world.jobLog.records) replayer.feed(r.payload, r.offset)
          const core = replayer.finish()
          const outcomes = recorded(records(world))
          if (core.footprint().retained > retainJobs) return `the replayed leader holds ${core.footprint().retained} finished jobs, more than the retention of ${retainJobs}`
          // The expired-id filter recognises at least the last max(1024, retainJobs) expirations
          // (expired-ids.ts); a job that finished before that many more finished may have faded.
          const finishOrder = new Map([...outcomes.keys()].map((id, i) => [id, i]))
          const remembered = retainJobs + Math.max(1024, retainJobs)
          for (const id of acked.keys()) {
            const info = core.inspect(id)
            if (info === undefined && outcomes.has(id) && (core.isExpired(id) || outcomes.size - 1 - finishOrder.get(id)! >= remembered)) continue
            if (info === undefined) return `acknowledged job ${id} is missing from a replay of the compacted log (from offset ${world.jobLog.startOffset})`
            const first = outcomes.get(id)
            if (first !== undefined && !same(info.outcome, first))
              return `job ${id}: the compacted log gives ${JSON.stringify(info.outcome)}, the history recorded ${JSON.stringify(first)}`
          }
          return undefined
        },
      },
    ],
    summary(world) {
      const outcomes = recorded(records(world))
      const ok = [...outcomes.values()].filter((o) => o.ok).length
      const runs = [...executions.values()].reduce((a, b) => a + b, 0)
      return `jobs: submitted=${submitted} acked=${acked.size} recorded=${outcomes.size} ok=${ok} results-seen=${seen.size} executions=${runs} released=${released(world)} latency-mean=${mean(latencies)} latency-p99=${Math.round(percentile(latencies, 0.99))} log-records=${records(world).length}${logConfig.kind === 'service' ? ` live-from=${world.jobLog.startOffset}` : ''}`
    },
  }
}

/** Each job's recorded outcome: its first final record in log order. */
function recorded(records: readonly LogRecord[]): Map<string, JobOutcome> {
  const out = new Map<string, JobOutcome>()
  for (const r of records) {
    const record = decodeJobRecord(r.payload)
    if (record.kind === 'finished' && !out.has(record.id)) out.set(record.id, record.outcome)
    if (record.kind === 'cancelled' && !out.has(record.id))
      out.set(record.id, { ok: false, error: { name: 'JobCancelledError', code: 'ERR_JOB_CANCELLED', message: '' }, permanent: true })
  }
  return out
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : Math.round(values.reduce((a, b) => a + b, 0) / values.length)
}

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!
}

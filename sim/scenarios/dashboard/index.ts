/**
 * The `dashboard` scenario: the `jobs` scenario with a DashboardHub on every node, watched the whole
 * run as an open page would, under the jobs scenario's faults (crashes, partitions, a lost leader).
 *
 * Checks (end), besides every check of `jobs`: each hub's leader history only moves to higher
 * epochs and names at most one leader per epoch, agreeing with every other hub; the jobs a hub
 * counted as finished never exceed the outcomes the log recorded (each finished job is counted at
 * most once, whichever node the page is on and however often the lead moves); latencies are never
 * negative; and some hub counted jobs and latencies, so the figures are not trivially empty. Each
 * forecast a page gets (asked of whichever node leads) names only members of that page's summary,
 * once each, looks ahead a positive horizon with its points in order inside it and every load
 * within its band, and some page got one with peers in it.
 */
import { DashboardHub, type DashboardSummary, type EpochChange } from '../../../src/dashboard/hub.js'
import { statusDocument } from '../../../src/node/http-api.js'
import type { AssembledNode } from '../../../src/node/assemble.js'
import type { Scenario } from '../../run.js'
import { jobsScenario } from '../jobs/index.js'
import { decodeJobRecord } from '../../../protocols/jobs/codec.js'

interface Page {
  readonly hub: DashboardHub
  readonly summaries: DashboardSummary[]
  readonly epochs: EpochChange[]
}

export function dashboardScenario(): Scenario<AssembledNode> {
  const jobs = jobsScenario()
  /** Every page ever opened, one per node incarnation. */
  const pages: Page[] = []
  const current = new Map<string, Page>()
  return {
    ...jobs,
    name: 'dashboard',
    boot(ctx, world) {
      const node = jobs.boot(ctx, world)
      current.get(ctx.id)?.hub.stop()
      const hub = new DashboardHub({
        status: () => statusDocument(ctx.id, [], node.cluster.view()),
        jobs: node.jobs,
        forecasts: node.jobs,
        clock: ctx.env.clock,
        timers: ctx.env.timers,
      })
      const page: Page = { hub, summaries: [], epochs: [] }
      hub.watch((event) => (event.kind === 'summary' ? page.summaries.push(event.summary) : page.epochs.push(event.change)))
      hub.start()
      pages.push(page)
      current.set(ctx.id, page)
      return node
    },
    final: [
      ...jobs.final,
      {
        name: 'leader-history-moves-forward-and-agrees',
        check() {
          const leaderOf = new Map<number, string>()
          for (const page of pages) {
            for (let i = 1; i < page.epochs.length; i++)
              if (page.epochs[i]!.epoch <= page.epochs[i - 1]!.epoch) return `a page's leader history went from epoch ${page.epochs[i - 1]!.epoch} to ${page.epochs[i]!.epoch}`
            for (const e of page.epochs) {
              const known = leaderOf.get(e.epoch)
              if (known !== undefined && known !== e.nodeId) return `two leaders shown for epoch ${e.epoch}: ${known} and ${e.nodeId}`
              leaderOf.set(e.epoch, e.nodeId)
            }
          }
          return undefined
        },
      },
      {
        name: 'finished-jobs-counted-at-most-once',
        check(world) {
          const finished = new Set<string>()
          for (const r of world.jobLog.history) {
            const record = decodeJobRecord(r.payload)
            if (record.kind === 'finished') finished.add(record.id)
          }
          const recorded = finished.size
          let anyCounted = false
          let anyLatency = false
          for (const page of pages) {
            let counted = 0
            for (let i = 1; i < page.summaries.length; i++) {
              const s = page.summaries[i]!
              if (s.throughput === null) continue
              const seconds = (s.t - page.summaries[i - 1]!.t) / 1000
              counted += Math.round((s.throughput.completed + s.throughput.failed) * seconds)
              if (s.latency !== null && (s.latency.p50Ms < 0 || s.latency.p99Ms < s.latency.p50Ms)) return `bad latency ${JSON.stringify(s.latency)}`
              if (s.latency !== null) anyLatency = true
            }
            if (counted > recorded) return `a page counted ${counted} finished jobs; the log recorded ${recorded}`
            if (counted > 0) anyCounted = true
          }
          if (recorded > 0 && !anyCounted) return `the log recorded ${recorded} finished jobs and no page counted any`
          if (recorded > 0 && !anyLatency) return 'no page showed a latency'
          return undefined
        },
      },
      {
        name: 'forecast-names-known-members-and-looks-ahead',
        check() {
          let anyForecast = false
          for (const page of pages) {
            for (const s of page.summaries) {
              const problem = forecastProblem(s)
              if (problem !== undefined) return `a page's summary at ${s.t} of ${s.nodeId}: ${problem}`
              if (s.forecast !== null && s.forecast.peers.length > 0) anyForecast = true
            }
          }
          return anyForecast ? undefined : 'no page ever showed a forecast'
        },
      },
    ],
    summary(world) {
      const shown = pages.reduce((n, p) => n + p.summaries.length, 0)
      const forecasts = pages.reduce((n, p) => n + p.summaries.filter((s) => s.forecast !== null && s.forecast.peers.length > 0).length, 0)
      return `${jobs.summary?.(world) ?? ''} dashboard: pages=${pages.length} summaries=${shown} forecasts=${forecasts}`
    },
  }
}

/** What is wrong with a summary's forecast, if anything. */
function forecastProblem(s: DashboardSummary): string | undefined {
  const f = s.forecast
  if (f === null) return undefined
  if (!(f.horizonS > 0) || !Number.isFinite(f.horizonS)) return `horizon ${f.horizonS}`
  if (!(f.saturation > 0)) return `saturation ${f.saturation}`
  const members = new Set(s.members.map((m) => m.nodeId))
  const seen = new Set<string>()
  for (const p of f.peers) {
    if (!members.has(p.nodeId)) return `a forecast for ${p.nodeId}, not a member in the summary`
    if (seen.has(p.nodeId)) return `two forecasts for ${p.nodeId}`
    seen.add(p.nodeId)
    if (!(p.load >= 0) || !(p.peak >= p.load)) return `${p.nodeId}: load ${p.load}, peak ${p.peak}`
    let last = 0
    for (const q of p.points) {
      if (!(q.inS > last && q.inS <= f.horizonS)) return `${p.nodeId}: point at ${q.inS} s after ${last} s, horizon ${f.horizonS} s`
      if (!(q.low >= 0 && q.low <= q.load && q.load <= q.high && Number.isFinite(q.high))) return `${p.nodeId}: band ${q.low} <= ${q.load} <= ${q.high} broken`
      last = q.inS
    }
    if (p.saturatesInS !== null && !(p.saturatesInS >= 0 && p.saturatesInS <= f.horizonS)) return `${p.nodeId} saturates in ${p.saturatesInS} s`
  }
  for (const a of s.alerts) if (a.predictedInS !== undefined && a.predictedInS !== null && !(a.predictedInS >= 0)) return `alert ${a.name} predicted in ${a.predictedInS} s`
  return undefined
}

/**
 * The offline reference for S7-DAG (T9): HEFT with exact task sizes and node speeds, knowing every
 * workflow in advance (what no online scheduler can). Each task, in list order, takes the slot on
 * the node that finishes it earliest, inserted into any idle gap long enough after it is ready
 * (its workflow's arrival and its dependencies' finish): insertion-based HEFT (Topcuoglu et al.
 * 2002). Two list orders: `arrival` (workflows in arrival order, each by decreasing upward rank,
 * HEFT applied to the stream one workflow at a time) and `latest-start` (every task by its workflow's
 * arrival plus critical path minus its upward rank: the order of SchedulerCoreOptions.order
 * 'critical-path', with perfect knowledge). Workflow times are reported as the engine reports them.
 */
import { SeededRandom } from '../../src/env/prng.js'
import { ArrivalStream, WORK_MS, type PlacementScenario } from './engine.js'
import { upwardRanks } from './workload.js'

export type HeftOrder = 'arrival' | 'latest-start'

/** One node slot's busy intervals, sorted and disjoint. */
class Timeline {
  private readonly starts: number[] = []
  private readonly ends: number[] = []

  /** The earliest start >= `ready` of an idle gap at least `duration` long. */
  earliest(ready: number, duration: number): number {
    // The first interval ending after `ready` (binary search), then the gaps from there.
    let lo = 0
    let hi = this.ends.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.ends[mid]! <= ready) lo = mid + 1
      else hi = mid
    }
    let start = ready
    for (let i = lo; i < this.starts.length; i++) {
      if (this.starts[i]! - start >= duration) return start
      start = Math.max(start, this.ends[i]!)
    }
    return start
  }

  insert(start: number, end: number): void {
    let i = this.starts.length
    while (i > 0 && this.starts[i - 1]! > start) i--
    this.starts.splice(i, 0, start)
    this.ends.splice(i, 0, end)
  }
}

/** Mean and P99 workflow time (arrival to last finish, mean-job units, first 10% of arrivals dropped) of the offline schedule. */
export function heftOffline(scenario: PlacementScenario, seed: number, order: HeftOrder): { meanJct: number; p99Jct: number } {
  if (scenario.dag === undefined) throw new RangeError(`scenario ${scenario.name} has no workflows`)
  const stream = new ArrivalStream(scenario, new SeededRandom(`placement:${scenario.name}:${seed}`))
  const tasks: Array<{ wf: number; deps: number[]; size: number; key: number }> = []
  const arrivalsAt: number[] = []
  for (let now = 0; tasks.length < scenario.jobs; now += stream.gap(now)) {
    const { deps, drawn } = stream.tasks(scenario.jobs - tasks.length)
    const ranks = upwardRanks(
      deps,
      drawn.map((d) => d.size * WORK_MS),
    )
    const critical = Math.max(...ranks)
    const wf = arrivalsAt.length
    const first = tasks.length
    arrivalsAt.push(now)
    deps.forEach((ds, i) =>
      tasks.push({ wf, deps: ds.map((d) => first + d), size: drawn[i]!.size * WORK_MS, key: order === 'arrival' ? wf * 1e12 - ranks[i]! : now + critical - ranks[i]! }),
    )
  }
  // Both keys list a task after its dependencies (a dependency's rank exceeds its dependents').
  const list = tasks.map((_, i) => i).sort((a, b) => tasks[a]!.key - tasks[b]!.key || a - b)
  const slots = stream.speeds.flatMap((speed) => Array.from({ length: scenario.capacity }, () => ({ speed, timeline: new Timeline() })))
  const finish = new Float64Array(tasks.length)
  const done = new Float64Array(arrivalsAt.length)
  for (const i of list) {
    const t = tasks[i]!
    const ready = t.deps.reduce((r, d) => Math.max(r, finish[d]!), arrivalsAt[t.wf]!)
    let best: { slot: (typeof slots)[number]; start: number; end: number } | undefined
    for (const slot of slots) {
      const duration = t.size / slot.speed
      const start = slot.timeline.earliest(ready, duration)
      if (best === undefined || start + duration < best.end) best = { slot, start, end: start + duration }
    }
    best!.slot.timeline.insert(best!.start, best!.end)
    finish[i] = best!.end
    done[t.wf] = Math.max(done[t.wf]!, best!.end)
  }
  const kept = Float64Array.from(arrivalsAt.slice(Math.floor(arrivalsAt.length / 10)).map((a, k) => (done[k + Math.floor(arrivalsAt.length / 10)]! - a) / WORK_MS)).sort()
  return { meanJct: kept.reduce((a, b) => a + b, 0) / kept.length, p99Jct: kept[Math.min(kept.length - 1, Math.floor(0.99 * kept.length))]! }
}

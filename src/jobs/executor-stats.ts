/**
 * The executor's load as the node gossips it: the executor actor (actors/executor.ts) fills it in,
 * the assembly reads it for the cluster actor's member records.
 */

/** Durations kept per type for the gossiped percentiles. */
const DURATIONS_KEPT = 128

/** The executor's load, read by the cluster actor for gossip. */
export class ExecutorStats {
  capacity = 0
  running = 0
  queued = 0
  /** Attempts this node gave up, unstarted, for the leader to move to an idle peer. */
  released = 0
  readonly types: string[] = []
  private readonly durations = new Map<string, number[]>()
  private readonly totals = new Map<string, number>()

  /** Records how long an attempt of `type` took. */
  recordDuration(type: string, ms: number): void {
    this.totals.set(type, (this.totals.get(type) ?? 0) + 1)
    const list = this.durations.get(type) ?? []
    list.push(ms)
    if (list.length > DURATIONS_KEPT) list.shift()
    this.durations.set(type, list)
  }

  /** Per type: attempts ever recorded (the leader's analytics merges the new ones) and p50/p90 of recent attempts. */
  summary(): Record<string, { count: number; p50Ms: number; p90Ms: number }> {
    const out: Record<string, { count: number; p50Ms: number; p90Ms: number }> = {}
    for (const [type, list] of this.durations) {
      const sorted = [...list].sort((a, b) => a - b)
      out[type] = {
        count: this.totals.get(type) ?? sorted.length,
        p50Ms: sorted[Math.floor(sorted.length * 0.5)]!,
        p90Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!,
      }
    }
    return out
  }
}

/**
 * What a node's job client is waiting for: outcomes and progress of the jobs it submitted or asked
 * about. The jobs-client actor fills it from the leader's pushes; JobClient reads it.
 */
import type { JobOutcome } from './types.js'

/** Finished outcomes kept for later `result()` calls. */
const MAX_KEPT_OUTCOMES = 10_000

type ProgressListener = (fraction: number, message: string | null) => void

interface Waiter {
  resolve(outcome: JobOutcome): void
  reject(error: Error): void
}

export class ResultWaiters {
  private readonly waiting = new Map<string, Waiter[]>()
  private closed: Error | undefined
  private readonly outcomes = new Map<string, JobOutcome>()
  /**
   * The kept outcomes' ids, oldest first from `oldest`: eviction reads the oldest id here, since
   * taking the first key of a Map that keeps losing its first entries walks past every deleted
   * slot until the Map rehashes (quadratic at a steady stream of results).
   */
  private keptOrder: string[] = []
  private oldest = 0
  private readonly progress = new Map<string, Set<ProgressListener>>()

  /** Ids still waiting for an outcome, for re-watching after a leader change or a lost push. */
  pendingIds(): string[] {
    return [...this.waiting.keys()]
  }

  /** How many jobs are waited for. */
  get pending(): number {
    return this.waiting.size
  }

  /** The outcome of `id` if it is known here. */
  known(id: string): JobOutcome | undefined {
    return this.outcomes.get(id)
  }

  /** Calls `resolve` with the outcome of `id`, now or when it arrives, or `reject` once closed; returns a canceller. */
  wait(id: string, resolve: (outcome: JobOutcome) => void, reject: (error: Error) => void): () => void {
    const known = this.outcomes.get(id)
    if (known !== undefined || this.closed !== undefined) {
      if (known !== undefined) resolve(known)
      else reject(this.closed!)
      return () => {}
    }
    const waiter = { resolve, reject }
    const list = this.waiting.get(id) ?? []
    list.push(waiter)
    this.waiting.set(id, list)
    return () => {
      const current = this.waiting.get(id)
      if (current === undefined) return
      const rest = current.filter((w) => w !== waiter)
      if (rest.length === 0) this.waiting.delete(id)
      else this.waiting.set(id, rest)
    }
  }

  /** Records an outcome and wakes its waiters. */
  settle(id: string, outcome: JobOutcome): void {
    if (!this.outcomes.has(id)) {
      this.outcomes.set(id, outcome)
      this.keptOrder.push(id)
      if (this.outcomes.size > MAX_KEPT_OUTCOMES) this.outcomes.delete(this.keptOrder[this.oldest++]!)
      if (this.oldest >= MAX_KEPT_OUTCOMES) {
        this.keptOrder = this.keptOrder.slice(this.oldest)
        this.oldest = 0
      }
    }
    const list = this.waiting.get(id)
    this.waiting.delete(id)
    this.progress.delete(id)
    for (const waiter of list ?? []) waiter.resolve(outcome)
  }

  /** Rejects the waits for `id` with `error`: its outcome will never arrive (the job expired unseen). */
  fail(id: string, error: Error): void {
    const list = this.waiting.get(id)
    this.waiting.delete(id)
    this.progress.delete(id)
    for (const waiter of list ?? []) waiter.reject(error)
  }

  /** Rejects every wait, now and later, with `error`: the node is stopping and no outcome will arrive. */
  close(error: Error): void {
    this.closed = error
    const lists = [...this.waiting.values()]
    this.waiting.clear()
    this.progress.clear()
    for (const list of lists) for (const waiter of list) waiter.reject(error)
  }

  /** Subscribes to progress of `id`; returns an unsubscribe function. */
  onProgress(id: string, listener: ProgressListener): () => void {
    const set = this.progress.get(id) ?? new Set()
    set.add(listener)
    this.progress.set(id, set)
    return () => set.delete(listener)
  }

  /** Delivers a progress report. */
  reportProgress(id: string, fraction: number, message: string | null): void {
    for (const listener of this.progress.get(id) ?? []) listener(fraction, message)
  }
}

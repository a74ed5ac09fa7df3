/**
 * The leader's bookkeeping of submitters waiting for durability, with no I/O: which submit hears
 * what, and when (actors/scheduler.ts sends the replies; `H` is its reply handle).
 *
 * - A submit is answered once, with one reply per job, in the order of its jobs: `accepted` for a
 *   new job, `duplicate` for one whose key another job owns, `refused` with the core's error.
 * - A job's reply waits until the job its answer names is durable (its own, or the key's owner
 *   while that one is not yet durable); the submit is answered when its last such job is.
 * - A withdrawn or released submit is never answered from here: its handle was answered otherwise
 *   (the log is unavailable, the leader stops), and the records it waited for stay queued.
 */
import { assert } from '../assert.js'
import type { SubmitReply } from './protocol.js'
import type { SubmitResult } from './scheduler-core.js'

/** One submit still waiting. */
interface Waiting {
  readonly replies: SubmitReply[]
  /** The jobs it waits for, with the indexes of its replies each answers. */
  readonly awaited: Map<string, number[]>
  remaining: number
}

/** What the submit of job `id` hears for the core's `result`: at once, or when job `when` is durable. */
export function answerTo(id: string, result: SubmitResult): { readonly now: SubmitReply } | { readonly when: string; readonly answer: SubmitReply } {
  switch (result.status) {
    case 'refused':
      return { now: { status: 'refused', error: result.error } }
    case 'duplicate':
      // A duplicate of a job not yet durable is answered once that job is, like the job's own submitter.
      return result.durable ? { now: { status: 'duplicate', of: result.of } } : { when: result.of, answer: { status: 'duplicate', of: result.of } }
    case 'durable':
      return { now: { status: 'accepted' } }
    case 'pending':
      return { when: id, answer: { status: 'accepted' } }
  }
}

export class Submitters<H> {
  /** The submits waiting for each job, in arrival order. */
  private readonly byJob = new Map<string, H[]>()
  private readonly bySubmit = new Map<H, Waiting>()

  /** Jobs some submit waits for. */
  get jobs(): number {
    return this.byJob.size
  }

  /** True while `handle`'s submit waits. */
  waits(handle: H): boolean {
    return this.bySubmit.has(handle)
  }

  /** Takes one submit of jobs `ids` with the core's `results`: returns its replies if all are known now, else holds it until `durable` completes it. */
  submit(handle: H, ids: readonly string[], results: readonly SubmitResult[]): SubmitReply[] | undefined {
    assert(ids.length === results.length && !this.bySubmit.has(handle), 'submitters: one result per job, one submit per handle')
    const replies: SubmitReply[] = new Array<SubmitReply>(ids.length)
    const awaited = new Map<string, number[]>()
    let remaining = 0
    results.forEach((result, i) => {
      const a = answerTo(ids[i]!, result)
      if ('now' in a) {
        replies[i] = a.now
        return
      }
      replies[i] = a.answer
      remaining++
      const indexes = awaited.get(a.when)
      if (indexes !== undefined) indexes.push(i)
      else awaited.set(a.when, [i])
    })
    if (remaining === 0) return replies
    this.bySubmit.set(handle, { replies, awaited, remaining })
    for (const id of awaited.keys()) {
      const list = this.byJob.get(id)
      if (list === undefined) this.byJob.set(id, [handle])
      else list.push(handle)
    }
    return undefined
  }

  /** Job `id` is durable: returns the submits it completes, with their replies, in the order they arrived. */
  durable(id: string): Array<{ readonly handle: H; readonly replies: SubmitReply[] }> {
    const handles = this.byJob.get(id)
    if (handles === undefined) return []
    this.byJob.delete(id)
    const done: Array<{ handle: H; replies: SubmitReply[] }> = []
    for (const handle of handles) {
      const waiting = this.bySubmit.get(handle)
      assert(waiting !== undefined, 'submitters: a job waited on by a submit not held')
      waiting.remaining -= waiting.awaited.get(id)?.length ?? 0
      waiting.awaited.delete(id)
      assert(waiting.remaining >= 0, 'submitters: negative count')
      if (waiting.remaining > 0) continue
      this.bySubmit.delete(handle)
      done.push({ handle, replies: waiting.replies })
    }
    return done
  }

  /** Forgets `handle`'s submit (answered otherwise); the jobs it waited for go on. */
  withdraw(handle: H): void {
    const waiting = this.bySubmit.get(handle)
    if (waiting === undefined) return
    this.bySubmit.delete(handle)
    for (const id of waiting.awaited.keys()) {
      const rest = this.byJob.get(id)?.filter((h) => h !== handle)
      if (rest === undefined || rest.length === 0) this.byJob.delete(id)
      else this.byJob.set(id, rest)
    }
  }

  /** Forgets every waiting submit and returns their handles, by the first job each waits for, to answer otherwise. */
  release(): H[] {
    const handles = new Set<H>()
    for (const list of this.byJob.values()) for (const handle of list) handles.add(handle)
    assert(handles.size === this.bySubmit.size, 'submitters: every held submit waits for a job')
    this.bySubmit.clear()
    this.byJob.clear()
    return [...handles]
  }
}

/**
 * The waiting room of a job log's appends: bounded in bytes, so a stalled log refuses new work with
 * JobLogUnavailableError instead of growing without bound, and abortable, so a caller that gives up
 * leaves before its append is taken (once taken, it is written and the caller hears the outcome).
 */
import { abortError } from '../env/abort.js'
import { JobLogUnavailableError } from './errors.js'

/** What the queue needs of a waiting append. */
export interface QueuedAppend {
  readonly bytes: number
  readonly reject: (error: Error) => void
}

export class AppendQueue<T extends QueuedAppend> {
  private items: Array<{ item: T; detach: () => void }> = []
  private queuedBytes = 0

  constructor(
    private readonly maxBytes: number,
    private readonly name: string,
  ) {}

  get length(): number {
    return this.items.length
  }

  /** Queues `item`; throws JobLogUnavailableError when full. If `signal` aborts first, the item leaves and is rejected. */
  add(item: T, signal: AbortSignal | undefined): void {
    if (this.queuedBytes + item.bytes > this.maxBytes) throw new JobLogUnavailableError(`${this.name} is full (${this.queuedBytes} bytes)`, false)
    const entry = { item, detach: () => signal?.removeEventListener('abort', onAbort) }
    const onAbort = (): void => {
      const at = this.items.indexOf(entry)
      if (at < 0) return
      this.items.splice(at, 1)
      this.queuedBytes -= item.bytes
      item.reject(abortError(signal!))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    this.items.push(entry)
    this.queuedBytes += item.bytes
  }

  /** Takes the first item and, after it, each next one for which `joins(next, groupBytes)` holds. */
  take(joins: (next: T, first: T, groupBytes: number) => boolean): T[] {
    const first = this.items[0]
    if (first === undefined) return []
    let bytes = first.item.bytes
    let count = 1
    while (count < this.items.length && joins(this.items[count]!.item, first.item, bytes)) bytes += this.items[count++]!.item.bytes
    return this.remove(this.items.splice(0, count))
  }

  /** Takes everything. */
  takeAll(): T[] {
    return this.remove(this.items.splice(0))
  }

  private remove(entries: Array<{ item: T; detach: () => void }>): T[] {
    return entries.map(({ item, detach }) => {
      detach()
      this.queuedBytes -= item.bytes
      return item
    })
  }
}

/**
 * The retransmission queue of piggybacked items (membership updates, load figures): one item per
 * key (a newer item about a member replaces the older one), each sent at most `limit` times, fewest
 * sends first. Items sit in buckets by send count, so taking the next few costs O(taken), not a sort
 * of the whole queue, which matters while a thousand joins are in flight.
 */
interface Entry<T> {
  readonly item: T
  readonly bytes: number
  transmits: number
}

export class TransmitQueue<T> {
  private readonly entries = new Map<string, Entry<T>>()
  /** Keys by send count; within a bucket, oldest first. */
  private readonly levels: Set<string>[] = []

  get size(): number {
    return this.entries.size
  }

  /** Queues `item` under `key` with zero sends, replacing any older item of that key. */
  put(key: string, item: T, bytes: number): void {
    this.delete(key)
    this.entries.set(key, { item, bytes, transmits: 0 })
    this.level(0).add(key)
  }

  delete(key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.levels[entry.transmits]?.delete(key)
    this.entries.delete(key)
  }

  has(key: string): boolean {
    return this.entries.has(key)
  }

  /** Sends of the item queued under `key`, or undefined. */
  transmits(key: string): number | undefined {
    return this.entries.get(key)?.transmits
  }

  /** Takes the item of `key`, if queued, counting one send. */
  takeKey(key: string, limit: number): T | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.levels[entry.transmits]!.delete(key)
    entry.transmits++
    if (entry.transmits >= limit) this.entries.delete(key)
    else this.level(entry.transmits).add(key)
    return entry.item
  }

  /**
   * Takes up to `maxItems` items within `maxBytes` (estimated), fewest sends first, counting one send
   * for each; items reaching `limit` sends leave the queue. `skip` keys are neither taken nor counted.
   */
  take(limit: number, maxBytes: number, maxItems: number, skip?: string): T[] {
    const out: T[] = []
    let bytes = 0
    const moved: string[] = []
    for (let t = 0; t < this.levels.length && out.length < maxItems; t++) {
      const level = this.levels[t]!
      for (const key of level) {
        if (out.length >= maxItems) break
        if (key === skip) continue
        const entry = this.entries.get(key)!
        if (entry.transmits >= limit) {
          level.delete(key)
          this.entries.delete(key)
          continue
        }
        // Items are about the same size, so the first that does not fit ends the scan: O(taken), not O(queue).
        if (bytes + entry.bytes > maxBytes) {
          t = this.levels.length
          break
        }
        bytes += entry.bytes
        out.push(entry.item)
        moved.push(key)
      }
    }
    for (const key of moved) {
      const entry = this.entries.get(key)!
      this.levels[entry.transmits]!.delete(key)
      entry.transmits++
      if (entry.transmits >= limit) this.entries.delete(key)
      else this.level(entry.transmits).add(key)
    }
    return out
  }

  private level(t: number): Set<string> {
    while (this.levels.length <= t) this.levels.push(new Set())
    return this.levels[t]!
  }
}

/**
 * Which job ids left the leader's memory after their retention, in bounded memory, so that a lookup
 * can answer "expired" rather than "never existed".
 *
 * Why a filter and not a set: the ids that ever expired grow without bound, and an exact set of the
 * last 100,000 would hold ~10 MB of strings; a Bloom filter holds the same at 10 bits per id
 * (~125 KB). Two generations of `perGeneration` ids each: when the current one is full it becomes
 * the previous one and the generation before is forgotten, so the memory never grows and at least
 * the last `perGeneration` expirations are always recognised (older ones fade to "never existed").
 * The price of the filter is false positives: a never-seen id is reported expired with a
 * probability of about 1% (7 hashes at 10 bits per id); both answers are a 404, so the error costs
 * only the precision of its code. Hashing is FNV-1a over UTF-16 code units with double hashing:
 * pure and the same on every node, so a snapshot carries the bits as they are (a generation of
 * another size, from a leader with another retention, is dropped: only the error code suffers).
 *
 * Besides the filter, the last `perGeneration` expired ids are kept exactly (`recent`): the
 * scheduler must not take a late duplicate of an expired job's submission (an append retried
 * after an ambiguous failure, a client resending its batch) for a new job, and it cannot afford a
 * false positive there (that would drop a real job). Such duplicates arrive within a retry's
 * backoff, long before `perGeneration` more jobs have expired.
 */

const BITS_PER_ID = 10
const HASHES = 7

/** A generation: its bits and how many ids it took. */
export interface ExpiredGeneration {
  readonly bits: Uint8Array
  readonly count: number
}

export class ExpiredIds {
  private current: { bits: Uint8Array; count: number }
  private previous: { bits: Uint8Array; count: number }
  private readonly bitCount: number
  private readonly recentSet = new Set<string>()
  private recentOrder: string[] = []
  private recentHead = 0

  constructor(
    readonly perGeneration: number,
    restored?: readonly [ExpiredGeneration, ExpiredGeneration],
    recent: readonly string[] = [],
  ) {
    if (!Number.isSafeInteger(perGeneration) || perGeneration < 1) throw new RangeError(`perGeneration must be a positive integer, got ${perGeneration}`)
    this.bitCount = Math.ceil((perGeneration * BITS_PER_ID) / 8) * 8
    const fresh = (): { bits: Uint8Array; count: number } => ({ bits: new Uint8Array(this.bitCount / 8), count: 0 })
    const take = (g: ExpiredGeneration | undefined): { bits: Uint8Array; count: number } =>
      g !== undefined && g.bits.length === this.bitCount / 8 ? { bits: new Uint8Array(g.bits), count: g.count } : fresh()
    this.current = take(restored?.[0])
    this.previous = take(restored?.[1])
    for (const id of recent) this.remember(id)
  }

  /** True if `id` is among the last `perGeneration` expired ids: exact, no false positives. */
  recentlyExpired(id: string): boolean {
    return this.recentSet.has(id)
  }

  /** The exactly remembered ids, oldest first, for a snapshot. */
  recent(): string[] {
    return this.recentOrder.slice(this.recentHead)
  }

  private remember(id: string): void {
    if (this.recentSet.has(id)) return
    this.recentSet.add(id)
    this.recentOrder.push(id)
    if (this.recentSet.size > this.perGeneration) this.recentSet.delete(this.recentOrder[this.recentHead++]!)
    if (this.recentHead > 1024 && this.recentHead * 2 > this.recentOrder.length) {
      this.recentOrder = this.recentOrder.slice(this.recentHead)
      this.recentHead = 0
    }
  }

  /** Bytes of the filter (the exact recent ids come on top: at most `perGeneration` of them). */
  get bytes(): number {
    return this.current.bits.length + this.previous.bits.length
  }

  /** Ids remembered exactly. */
  get recentCount(): number {
    return this.recentSet.size
  }

  add(id: string): void {
    if (this.current.count >= this.perGeneration) {
      this.previous = this.current
      this.current = { bits: new Uint8Array(this.bitCount / 8), count: 0 }
    }
    this.forEachBit(id, (bit) => {
      this.current.bits[bit >>> 3]! |= 1 << (bit & 7)
    })
    this.current.count++
    this.remember(id)
  }

  /** True if `id` was added within the last two generations (or, rarely, a false positive). */
  has(id: string): boolean {
    return this.within(this.current.bits, id) || this.within(this.previous.bits, id)
  }

  /** The two generations, current first, for a snapshot; an empty one travels as no bytes. */
  export(): [ExpiredGeneration, ExpiredGeneration] {
    const out = (g: { bits: Uint8Array; count: number }): ExpiredGeneration => ({ bits: g.count === 0 ? new Uint8Array(0) : g.bits, count: g.count })
    return [out(this.current), out(this.previous)]
  }

  private within(bits: Uint8Array, id: string): boolean {
    let all = true
    this.forEachBit(id, (bit) => {
      if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) all = false
    })
    return all
  }

  private forEachBit(id: string, visit: (bit: number) => void): void {
    let h1 = 0x811c9dc5
    let h2 = 0x01000193 ^ 0x5bd1e995
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0
    }
    h2 |= 1
    for (let k = 0; k < HASHES; k++) visit(((h1 + Math.imul(k, h2)) >>> 0) % this.bitCount)
  }
}

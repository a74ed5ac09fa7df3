/**
 * The simulated result cache (Redis's role) at its own network position. Faults: partitions cut
 * nodes off from it, it can be down, and a failover can lose the writes of its last moments
 * (`loseRecentWrites`), which is why the cache must never be the only record of anything.
 */
import type { AbortOptions } from '../../src/env/types.js'
import { withoutStack } from '../../src/errors.js'
import { CacheUnavailableError } from '../../src/storage/errors.js'
import type { CacheWriteOptions, ResultCache } from '../../src/storage/types.js'
import type { Owner } from '../kernel/loop.js'
import type { SimNetwork } from '../net/network.js'
import { call, type ServiceOutcome } from './rpc.js'

/** The network position name of the cache. */
export const CACHE_POSITION = 'cache'

/** Client timeout of one cache call. */
export const CACHE_TIMEOUT_MS = 500

export interface CacheEntry {
  value: Uint8Array
  expiresAtUs: number
}

interface JournalEntry {
  readonly atUs: number
  readonly key: string
  readonly previous: CacheEntry | undefined
}

/** How far back the write journal reaches; older writes are safe from `loseRecentWrites`. */
const JOURNAL_US = 60_000_000

export class SimCacheService {
  readonly entries = new Map<string, CacheEntry>()
  down = false
  private journal: JournalEntry[] = []

  constructor(private readonly net: SimNetwork) {}

  /** Reverts every write made in the last `windowMs`, newest first, as a failover to a lagging replica would. */
  loseRecentWrites(windowMs: number): number {
    const since = this.net.kernel.now - windowMs * 1000
    let lost = 0
    while (this.journal.length > 0 && this.journal[this.journal.length - 1]!.atUs >= since) {
      const { key, previous } = this.journal.pop()!
      if (previous === undefined) this.entries.delete(key)
      else this.entries.set(key, previous)
      lost++
    }
    return lost
  }

  /** A ResultCache client for one node incarnation. */
  client(node: string, owner: Owner): ResultCache {
    const from = this.net.position(node)
    const service = this.net.position(CACHE_POSITION)
    const invoke = <T>(execute: () => ServiceOutcome<T>, options: AbortOptions): Promise<T> =>
      call({
        net: this.net,
        from,
        owner,
        service,
        timeoutMs: CACHE_TIMEOUT_MS,
        execute: () => (this.down ? { ok: false, error: withoutStack(() => new CacheUnavailableError('cache is down')) } : execute()),
        loseResponse: () => this.down,
        timeoutError: () => new CacheUnavailableError(`cache did not answer within ${CACHE_TIMEOUT_MS} ms`),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
    return {
      get: (key, options = {}) => invoke(() => ({ ok: true, value: this.live(key)?.value.slice() }), options),
      set: (key, value, options: CacheWriteOptions = {}) => invoke(() => ({ ok: true, value: void this.write(key, value, options.ttlMs) }), options),
      setIfAbsent: (key, value, options: CacheWriteOptions = {}) =>
        invoke(() => {
          if (this.live(key) !== undefined) return { ok: true, value: false }
          this.write(key, value, options.ttlMs)
          return { ok: true, value: true }
        }, options),
    }
  }

  private live(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined || entry.expiresAtUs > this.net.kernel.now) return entry
    this.entries.delete(key)
    return undefined
  }

  private write(key: string, value: Uint8Array, ttlMs: number | undefined): void {
    const now = this.net.kernel.now
    this.journal.push({ atUs: now, key, previous: this.entries.get(key) })
    while (this.journal.length > 0 && this.journal[0]!.atUs < now - JOURNAL_US) this.journal.shift()
    this.entries.set(key, { value: value.slice(), expiresAtUs: ttlMs === undefined ? Infinity : now + ttlMs * 1000 })
  }
}

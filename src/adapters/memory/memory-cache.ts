/**
 * The embedded result cache: an in-process map, for a node that runs without Redis.
 *
 * Expiry follows the injected clock's monotonic time, so tests and the simulator move it with
 * their own time. The cache is bounded by entry count and by bytes (keys counted at two bytes a
 * character plus a fixed overhead per entry); when a write would exceed either bound, the least
 * recently used entries are evicted first. Expired entries are dropped when touched or when they
 * reach the eviction end; until then they count toward the bounds. Values are copied in and out,
 * so callers never share memory with the cache.
 *
 * Memory: an entry is one map slot from a flat key string to one flat one-byte string holding its
 * deadline (6 bytes) then its value's bytes as latin1. Not a Uint8Array: a small typed array costs
 * about 200 bytes of objects beside its bytes, a string 16, and a string is a copy by nature (an
 * encoder's output is usually a view of its shared buffer of several MB, which a kept view would
 * keep alive for the entry's TTL). Not an entry object with a number: 54 bytes more per entry. Keys
 * are copied flat because callers build them as `job:` + an id that msgpackr decoded as a slice of
 * a longer string: kept as given, a key held a concatenation, a slice and the slice's parent (117
 * bytes for a 40-character key instead of 56). A job's result entry costs about 133 bytes in all
 * (heap snapshot of a leader at 100,000 entries: 25 MB before, see test/bench/RESULTS.md rss).
 */
import { InvalidArgumentError } from '../../errors.js'
import { throwIfAborted } from '../../env/abort.js'
import type { AbortOptions, Clock } from '../../env/types.js'
import type { CacheWriteOptions, ResultCache } from '../../storage/types.js'

const MAX_ENTRIES = 100_000
const MAX_BYTES = 64 * 1024 * 1024
/** What an entry costs beyond its key and value: the map slot, the entry object, the string headers. */
const ENTRY_OVERHEAD_BYTES = 64

/** Options of the memory cache. */
export interface MemoryResultCacheInit {
  clock: Clock
  /** At most this many entries; 100,000 by default. */
  maxEntries?: number
  /** At most this many bytes of keys, values and overhead; 64 MiB by default. */
  maxBytes?: number
}

/** Bytes of an entry's deadline before its value: whole monotonic milliseconds, big-endian. */
const DEADLINE_BYTES = 6
/** The deadline that never comes (a TTL-less entry), the largest the deadline bytes hold. */
const NEVER = 2 ** (8 * DEADLINE_BYTES) - 1

/** An entry as held: its deadline then its value, as one flat latin1 string. */
function packEntry(value: Uint8Array, expiresAtMs: number): string {
  const out = Buffer.allocUnsafe(DEADLINE_BYTES + value.byteLength)
  out.writeUIntBE(Math.min(Math.ceil(expiresAtMs), NEVER), 0, DEADLINE_BYTES)
  out.set(value, DEADLINE_BYTES)
  return out.toString('latin1')
}

/** An entry's deadline: monotonic milliseconds, Infinity if it does not expire. */
function deadlineOf(entry: string): number {
  let ms = 0
  for (let i = 0; i < DEADLINE_BYTES; i++) ms = ms * 256 + entry.charCodeAt(i)
  return ms === NEVER ? Infinity : ms
}

/** A copy of `key` as one flat string, sharing no memory with the caller's (see the module doc). */
function flatKey(key: string): string {
  return JSON.parse(JSON.stringify(key)) as string
}

/** What an entry counts toward the byte bound (keys at two bytes a character). */
function entryBytes(key: string, valueBytes: number): number {
  return key.length * 2 + valueBytes + ENTRY_OVERHEAD_BYTES
}

export class MemoryResultCache implements ResultCache {
  private readonly entries = new Map<string, string>()
  private readonly clock: Clock
  private readonly maxEntries: number
  private readonly maxBytes: number
  private bytes = 0

  constructor(init: MemoryResultCacheInit) {
    this.clock = init.clock
    this.maxEntries = init.maxEntries ?? MAX_ENTRIES
    this.maxBytes = init.maxBytes ?? MAX_BYTES
    if (!(this.maxEntries >= 1) || !(this.maxBytes >= 1)) throw new InvalidArgumentError('cache bounds must be positive')
  }

  /** The number of entries held, expired ones included. */
  get size(): number {
    return this.entries.size
  }

  /** The bytes held, by the accounting of the bounds. */
  get sizeBytes(): number {
    return this.bytes
  }

  async get(key: string, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    throwIfAborted(options.signal)
    const entry = this.live(key)
    if (entry === undefined) return undefined
    // Re-inserting moves the key to the most recently used end of the map's order.
    this.entries.delete(key)
    this.entries.set(flatKey(key), entry)
    return new Uint8Array(Buffer.from(entry.slice(DEADLINE_BYTES), 'latin1'))
  }

  async set(key: string, value: Uint8Array, options: CacheWriteOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    this.store(key, value, options.ttlMs)
  }

  async setIfAbsent(key: string, value: Uint8Array, options: CacheWriteOptions = {}): Promise<boolean> {
    throwIfAborted(options.signal)
    if (this.live(key) !== undefined) return false
    this.store(key, value, options.ttlMs)
    return true
  }

  /** Drops every entry (a node that stops leading: only a leader writes results, see src/node/storage.ts). */
  clear(): void {
    this.entries.clear()
    this.bytes = 0
  }

  /** The entry under `key` unless absent or expired; an expired one is dropped. */
  private live(key: string): string | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (deadlineOf(entry) > this.clock.monotonicMs()) return entry
    this.remove(key, entry)
    return undefined
  }

  private store(key: string, value: Uint8Array, ttlMs: number | undefined): void {
    if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) throw new InvalidArgumentError(`ttlMs must be a positive number, got ${ttlMs}`)
    const bytes = entryBytes(key, value.byteLength)
    if (bytes > this.maxBytes) throw new InvalidArgumentError(`a cache entry of ${bytes} bytes exceeds the cache's ${this.maxBytes} bytes`)
    const previous = this.entries.get(key)
    if (previous !== undefined) this.remove(key, previous)
    while (this.entries.size >= this.maxEntries || this.bytes + bytes > this.maxBytes) this.evictOldest()
    this.entries.set(flatKey(key), packEntry(value, ttlMs === undefined ? Infinity : this.clock.monotonicMs() + ttlMs))
    this.bytes += bytes
  }

  private evictOldest(): void {
    const oldest = this.entries.entries().next()
    if (oldest.done === true) return
    this.remove(oldest.value[0], oldest.value[1])
  }

  private remove(key: string, entry: string): void {
    this.entries.delete(key)
    this.bytes -= entryBytes(key, entry.length - DEADLINE_BYTES)
  }
}

/**
 * The ResultCache port on Redis (ioredis): GET, SET with PX, and SET NX PX, on binary values,
 * under a key prefix per cluster.
 *
 * Bounds: every command fails after `commandTimeoutMs`, including one waiting for a reconnect, and
 * at most `maxPending` commands are outstanding; beyond that calls fail at once. So with Redis
 * gone, callers get CacheUnavailableError quickly instead of piling up. The client reconnects by
 * itself, backing off up to `reconnectDelayMaxMs`, and commands of one turn of the event loop go
 * out in one pipeline (enableAutoPipelining). A cache may lose anything: a timed-out write may
 * still be applied after a reconnect, which the port allows.
 *
 * The AbortSignal is checked before a command is sent; a sent command settles within its timeout.
 */
import type { ConnectionOptions } from 'node:tls'
import { Redis } from 'ioredis'
import { throwIfAborted } from '../../env/abort.js'
import type { AbortOptions, Logger } from '../../env/types.js'
import { InvalidArgumentError } from '../../errors.js'
import { CacheUnavailableError } from '../../storage/errors.js'
import type { CacheWriteOptions, ResultCache } from '../../storage/types.js'

/** Options of the Redis cache. */
export interface RedisResultCacheInit {
  /** 127.0.0.1 by default. */
  host?: string
  /** 6379 by default. */
  port?: number
  /** An ACL user (with `password`); the default user when absent. */
  username?: string
  password?: string
  /** TLS to Redis (CA, client certificate); plaintext when absent. */
  tls?: ConnectionOptions
  db?: number
  /** Prepended to every key, e.g. `dx:<cluster>:`, so clusters sharing a Redis do not collide. */
  prefix: string
  logger: Logger
  /** 1,000 ms by default. */
  commandTimeoutMs?: number
  /** 1,000 ms by default. */
  connectTimeoutMs?: number
  /** The longest wait between reconnect attempts; 2,000 ms by default. */
  reconnectDelayMaxMs?: number
  /** Outstanding commands beyond which calls fail at once; 10,000 by default. */
  maxPending?: number
}

export class RedisResultCache implements ResultCache {
  private readonly client: Redis
  private readonly maxPending: number
  private pending = 0

  constructor(init: RedisResultCacheInit) {
    if (init.prefix.length === 0) throw new InvalidArgumentError('the Redis cache needs a key prefix')
    const delayMaxMs = init.reconnectDelayMaxMs ?? 2000
    this.maxPending = init.maxPending ?? 10_000
    this.client = new Redis({
      host: init.host ?? '127.0.0.1',
      port: init.port ?? 6379,
      ...(init.username === undefined ? {} : { username: init.username }),
      ...(init.password === undefined ? {} : { password: init.password }),
      ...(init.tls === undefined ? {} : { tls: init.tls }),
      db: init.db ?? 0,
      keyPrefix: init.prefix,
      commandTimeout: init.commandTimeoutMs ?? 1000,
      connectTimeout: init.connectTimeoutMs ?? 1000,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), delayMaxMs),
    })
    let reported = false
    // Without a listener ioredis prints every connection error itself; report the first of each outage.
    this.client.on('error', (error: Error) => {
      if (!reported) init.logger.warn('redis cache: connection error; reconnecting', { error: error.message })
      reported = true
    })
    this.client.on('ready', () => {
      if (reported) init.logger.info('redis cache: connected again')
      reported = false
    })
  }

  get(key: string, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    return this.command('GET', options, async () => (await this.client.getBuffer(key)) ?? undefined)
  }

  set(key: string, value: Uint8Array, options: CacheWriteOptions = {}): Promise<void> {
    return this.command('SET', options, async () => {
      const buffer = toBuffer(value)
      const ttlMs = checkTtl(options.ttlMs)
      await (ttlMs === undefined ? this.client.set(key, buffer) : this.client.set(key, buffer, 'PX', ttlMs))
    })
  }

  setIfAbsent(key: string, value: Uint8Array, options: CacheWriteOptions = {}): Promise<boolean> {
    return this.command('SET NX', options, async () => {
      const buffer = toBuffer(value)
      const ttlMs = checkTtl(options.ttlMs)
      const reply = ttlMs === undefined ? await this.client.set(key, buffer, 'NX') : await this.client.set(key, buffer, 'PX', ttlMs, 'NX')
      return reply === 'OK'
    })
  }

  /** Closes the connection; later calls fail with CacheUnavailableError. */
  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect())
  }

  private async command<T>(name: string, options: AbortOptions, run: () => Promise<T>): Promise<T> {
    throwIfAborted(options.signal)
    if (this.pending >= this.maxPending) throw new CacheUnavailableError(`redis cache: ${this.pending} commands outstanding`)
    this.pending++
    try {
      return await run()
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error
      throw new CacheUnavailableError(`redis cache ${name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    } finally {
      this.pending--
    }
  }
}

/** Redis PX takes whole milliseconds of at least 1. */
function checkTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new InvalidArgumentError(`ttlMs must be a positive number, got ${ttlMs}`)
  return Math.max(1, Math.ceil(ttlMs))
}

/** A copy: with auto-pipelining the command is written on a later turn, after the caller may reuse its buffer. */
function toBuffer(value: Uint8Array): Buffer {
  return Buffer.from(value)
}

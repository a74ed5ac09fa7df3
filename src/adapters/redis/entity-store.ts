/**
 * The EntityStateStore port on Redis: one hash per entity (`promised`, `epoch`, `version`,
 * `value`) under a key prefix, changed only by Lua scripts, so a claim and a fenced write are each
 * atomic. Durability is Redis's own (configure AOF with appendfsync always for "durable before
 * reply"); a command that times out may still be applied, which the port allows (a save may land
 * after its caller gave up, never over a newer epoch's state).
 */
import { Redis } from 'ioredis'
import { EntityUnavailableError, StaleEpochError } from '../../entities/errors.js'
import type { EntityStateStore, StoredEntityState } from '../../entities/types.js'
import type { AbortOptions } from '../../env/types.js'
import { InvalidArgumentError } from '../../errors.js'

/** KEYS[1] the entity's hash; ARGV[1] epoch. Returns -promised when superseded, else {epoch, version, value} or an empty table. */
const CLAIM = `
local promised = tonumber(redis.call('HGET', KEYS[1], 'promised') or '0')
local epoch = tonumber(ARGV[1])
if epoch < promised then return {-promised} end
if epoch > promised then redis.call('HSET', KEYS[1], 'promised', ARGV[1]) end
local s = redis.call('HMGET', KEYS[1], 'epoch', 'version', 'value')
if not s[1] then return {} end
return {tonumber(s[1]), tonumber(s[2]), s[3]}
`

/** KEYS[1] the hash; ARGV epoch, version, value. Returns 1 when stored or older than what is held, -promised when superseded. */
const WRITE = `
local promised = tonumber(redis.call('HGET', KEYS[1], 'promised') or '0')
local epoch = tonumber(ARGV[1])
local version = tonumber(ARGV[2])
if epoch < promised then return -promised end
local held = redis.call('HMGET', KEYS[1], 'epoch', 'version')
local he = tonumber(held[1] or '-1')
local hv = tonumber(held[2] or '-1')
if epoch > he or (epoch == he and version > hv) then
  redis.call('HSET', KEYS[1], 'promised', math.max(promised, epoch), 'epoch', ARGV[1], 'version', ARGV[2], 'value', ARGV[3])
end
return 1
`

export interface RedisEntityStoreInit {
  host?: string
  port?: number
  password?: string
  db?: number
  /** Prepended to every key, e.g. `dx:<cluster>:entity:`. */
  prefix: string
  /** 2,000 ms by default. */
  commandTimeoutMs?: number
}

export class RedisEntityStore implements EntityStateStore {
  private readonly client: Redis

  constructor(private readonly init: RedisEntityStoreInit) {
    if (init.prefix.length === 0) throw new InvalidArgumentError('the Redis entity store needs a key prefix')
    this.client = new Redis({
      host: init.host ?? '127.0.0.1',
      port: init.port ?? 6379,
      ...(init.password === undefined ? {} : { password: init.password }),
      db: init.db ?? 0,
      commandTimeout: init.commandTimeoutMs ?? 2000,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    })
    this.client.on('error', () => {})
  }

  async load(type: string, key: string, epoch: number, options?: AbortOptions): Promise<StoredEntityState | undefined> {
    options?.signal?.throwIfAborted()
    const reply = (await this.run(() => this.client.callBuffer('EVAL', CLAIM, '1', this.key(type, key), String(epoch)))) as Array<number | Buffer>
    if (reply.length === 1) throw new StaleEpochError(`${type}/${key}`, epoch)
    if (reply.length === 0) return undefined
    return { epoch: Number(reply[0]), version: Number(reply[1]), value: new Uint8Array(reply[2] as Buffer) }
  }

  async save(type: string, key: string, state: StoredEntityState, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    const reply = Number(
      await this.run(() => this.client.callBuffer('EVAL', WRITE, '1', this.key(type, key), String(state.epoch), String(state.version), Buffer.from(state.value))),
    )
    if (reply < 0) throw new StaleEpochError(`${type}/${key}`, state.epoch)
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect())
  }

  private key(type: string, key: string): string {
    return `${this.init.prefix}${type}/${key}`
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command()
    } catch (error) {
      throw new EntityUnavailableError(`Redis entity store: ${(error as Error).message}`, { cause: error })
    }
  }
}

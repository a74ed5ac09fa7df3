/**
 * A node's DurableStore on a directory: one file per key.
 *
 * A write goes to a temporary file, which is fsynced and then renamed over the key's file, and
 * the directory is fsynced; so after a crash a key holds either its old or its new value, whole,
 * and a resolved write survives power loss. Writes to one key run one after another in call
 * order, so the last call wins. Keys map to file names reversibly (every byte outside
 * [A-Za-z0-9_-] becomes %XX), so no key can name a path outside the directory or collide with a
 * temporary file (those contain a '.'). Temporary files left by a crash are removed at open.
 */
import { mkdir, readFile, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidArgumentError } from '../../errors.js'
import { throwIfAborted } from '../../env/abort.js'
import type { AbortOptions } from '../../env/types.js'
import { StoreError } from '../../storage/errors.js'
import { errorCode } from '../../files/file-lock.js'
import { writeFileDurably } from '../../files/file-sync.js'
import type { DurableStore } from '../../storage/types.js'

/** Longest escaped key; file names are limited to 255 bytes, and the temporary suffix needs room. */
const FILE_NAME_MAX_BYTES = 200
const TEMP_MARK = '.tmp-'

/** Options of the file store. */
export interface FileDurableStoreInit {
  /** The directory of the store; created when absent. */
  dir: string
}

export class FileDurableStore implements DurableStore {
  /** Opens the store in `init.dir`, removing temporary files a crash left behind. */
  static async open(init: FileDurableStoreInit): Promise<FileDurableStore> {
    try {
      await mkdir(init.dir, { recursive: true, mode: 0o700 })
      for (const name of await readdir(init.dir)) if (name.includes(TEMP_MARK)) await unlink(join(init.dir, name))
    } catch (error) {
      throw new StoreError(`cannot open the store in ${init.dir}`, { cause: error })
    }
    return new FileDurableStore(init.dir)
  }

  /** The last write of each key still in progress, to order the next one after it. */
  private readonly writes = new Map<string, Promise<void>>()
  private temp = 0

  private constructor(private readonly dir: string) {}

  async read(key: string, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    throwIfAborted(options.signal)
    const path = join(this.dir, fileName(key))
    try {
      return new Uint8Array(await readFile(path))
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined
      throw new StoreError(`cannot read ${path}`, { cause: error })
    }
  }

  write(key: string, value: Uint8Array, options: AbortOptions = {}): Promise<void> {
    let name: string
    try {
      name = fileName(key)
      throwIfAborted(options.signal)
    } catch (error) {
      return Promise.reject(error)
    }
    const copy = new Uint8Array(value)
    const previous = this.writes.get(name) ?? Promise.resolve()
    const current = previous.then(() => {
      throwIfAborted(options.signal)
      return this.replace(name, copy)
    })
    const settled = current.catch(() => {})
    this.writes.set(name, settled)
    void settled.then(() => {
      if (this.writes.get(name) === settled) this.writes.delete(name)
    })
    return current
  }

  private async replace(name: string, value: Uint8Array): Promise<void> {
    const path = join(this.dir, name)
    const temp = `${path}${TEMP_MARK}${process.pid}-${this.temp++}`
    try {
      await writeFileDurably(path, value, temp)
    } catch (error) {
      throw new StoreError(`cannot write ${path}`, { cause: error })
    }
  }
}

function fileName(key: string): string {
  if (key.length === 0) throw new InvalidArgumentError('store keys must not be empty')
  let name = ''
  for (const byte of Buffer.from(key, 'utf8')) {
    const safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x5f
    name += safe ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`
  }
  if (name.length > FILE_NAME_MAX_BYTES) throw new InvalidArgumentError(`store key too long (${name.length} bytes escaped, at most ${FILE_NAME_MAX_BYTES})`)
  return name
}

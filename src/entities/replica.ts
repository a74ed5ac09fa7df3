/**
 * One node's replica of entity state, over its DurableStore: the acceptor side of the embedded
 * quorum store (quorum-store.ts). Per key it keeps the highest epoch that claimed the key and the
 * newest (epoch, version) value written. A claim or a write of an older epoch is refused, so once an
 * activation has loaded under epoch e (a majority promised e), no activation of an older epoch can
 * complete a save. Operations on one key run one at a time; each resolves after its write is durable.
 */
import { Packr } from 'msgpackr'
import type { DurableStore } from '../storage/types.js'
import type { StoredEntityState } from './types.js'

interface Record {
  promised: number
  state: StoredEntityState | undefined
}

/** A replica's answer: the current state when accepted, or the epoch that supersedes the caller. */
export type ReplicaAnswer = { readonly ok: true; readonly state: StoredEntityState | undefined } | { readonly ok: false; readonly promised: number }

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

export class EntityReplica {
  private readonly chains = new Map<string, Promise<unknown>>()

  constructor(private readonly store: DurableStore) {}

  /** Promises `epoch` for the key and returns its newest state, unless a newer epoch holds it. */
  claim(type: string, key: string, epoch: number): Promise<ReplicaAnswer> {
    return this.serial(type, key, async (storeKey) => {
      const record = await this.read(storeKey)
      if (epoch < record.promised) return { ok: false, promised: record.promised }
      if (epoch > record.promised) await this.store.write(storeKey, packr.pack({ promised: epoch, state: record.state }))
      return { ok: true, state: record.state }
    })
  }

  /** Stores `state` if its epoch is not superseded and it is newer than what is held. */
  write(type: string, key: string, state: StoredEntityState): Promise<ReplicaAnswer> {
    return this.serial(type, key, async (storeKey) => {
      const record = await this.read(storeKey)
      if (state.epoch < record.promised) return { ok: false, promised: record.promised }
      const held = record.state
      if (held === undefined || state.epoch > held.epoch || (state.epoch === held.epoch && state.version > held.version)) {
        await this.store.write(storeKey, packr.pack({ promised: Math.max(record.promised, state.epoch), state }))
      }
      return { ok: true, state: undefined }
    })
  }

  private async read(storeKey: string): Promise<Record> {
    const bytes = await this.store.read(storeKey)
    if (bytes === undefined) return { promised: 0, state: undefined }
    const record = packr.unpack(bytes) as Record
    return {
      promised: record.promised,
      state:
        record.state === undefined || record.state === null ? undefined : { epoch: record.state.epoch, version: record.state.version, value: new Uint8Array(record.state.value) },
    }
  }

  private serial<T>(type: string, key: string, run: (storeKey: string) => Promise<T>): Promise<T> {
    const storeKey = `entity/${type}/${key}`
    const previous = this.chains.get(storeKey) ?? Promise.resolve()
    const next = previous.then(
      () => run(storeKey),
      () => run(storeKey),
    )
    const tail = next.then(
      () => {},
      () => {},
    )
    this.chains.set(storeKey, tail)
    void tail.then(() => {
      if (this.chains.get(storeKey) === tail) this.chains.delete(storeKey)
    })
    return next
  }
}

/**
 * The embedded EntityStateStore: each state is replicated to the cluster's voters (every node runs
 * a replica, see replica.ts and actors/entity-store.ts) and a load or save completes once a majority
 * of them answered. Any two majorities intersect, so a load sees the newest acknowledged save, and
 * a load under epoch e makes a majority refuse every later save of an older epoch (StaleEpochError):
 * an activation that lost its lease cannot overwrite its successor's state. Saves are durable (each
 * replica fsyncs) before the entity's handler continues, hence before its reply is sent.
 *
 * Limits: the voters are read from the cluster view at each call; while the voter set changes, a
 * majority of the new set may miss a save acknowledged by the old one (as with the replicated job
 * log, change voters one at a time).
 */
import type { AbortOptions } from '../env/types.js'
import type { NodeId } from '../net/types.js'
import { EntityUnavailableError, StaleEpochError } from './errors.js'
import type { ReplicaAnswer } from './replica.js'
import type { EntityStateStore, StoredEntityState } from './types.js'

/** The replica operations the store needs, on any node (the driver sends them over the network). */
export interface ReplicaTransport {
  claim(node: NodeId, type: string, key: string, epoch: number, options?: AbortOptions): Promise<ReplicaAnswer>
  write(node: NodeId, type: string, key: string, state: StoredEntityState, options?: AbortOptions): Promise<ReplicaAnswer>
}

export class QuorumEntityStore implements EntityStateStore {
  constructor(
    private readonly voters: () => readonly NodeId[],
    private readonly transport: ReplicaTransport,
  ) {}

  async load(type: string, key: string, epoch: number, options?: AbortOptions): Promise<StoredEntityState | undefined> {
    const answers = await this.quorum(type, key, epoch, (node) => this.transport.claim(node, type, key, epoch, options))
    let newest: StoredEntityState | undefined
    for (const a of answers) {
      const s = a.ok ? a.state : undefined
      if (s !== undefined && (newest === undefined || s.epoch > newest.epoch || (s.epoch === newest.epoch && s.version > newest.version))) newest = s
    }
    return newest
  }

  async save(type: string, key: string, state: StoredEntityState, options?: AbortOptions): Promise<void> {
    await this.quorum(type, key, state.epoch, (node) => this.transport.write(node, type, key, state, options))
  }

  /** Resolves with a majority of accepting answers; rejects at the first refusal, or when a majority can no longer accept. */
  private quorum(type: string, key: string, epoch: number, call: (node: NodeId) => Promise<ReplicaAnswer>): Promise<ReplicaAnswer[]> {
    const voters = this.voters()
    if (voters.length === 0) return Promise.reject(new EntityUnavailableError(`no voters known: cannot reach the state of ${type}/${key}`))
    const need = Math.floor(voters.length / 2) + 1
    return new Promise((resolve, reject) => {
      const accepted: ReplicaAnswer[] = []
      let failed = 0
      let done = false
      for (const node of voters) {
        call(node).then(
          (answer) => {
            if (done) return
            if (!answer.ok) {
              done = true
              reject(new StaleEpochError(`${type}/${key}`, epoch))
              return
            }
            accepted.push(answer)
            if (accepted.length >= need) {
              done = true
              resolve(accepted)
            }
          },
          (error: unknown) => {
            if (done) return
            failed++
            if (voters.length - failed < need) {
              done = true
              reject(new EntityUnavailableError(`only ${voters.length - failed} of ${voters.length} voters can hold the state of ${type}/${key}: ${(error as Error).message}`))
            }
          },
        )
      }
    })
  }
}

/**
 * A node's simulated disk (the DurableStore port). It survives crashes of its node; a write
 * becomes durable when its completion event runs, so a crash before that loses the write and its
 * promise never settles, like an fsync interrupted by power loss.
 */
import type { SeededRandom } from '../../src/env/prng.js'
import type { DurableStore } from '../../src/storage/types.js'
import { EventKind, type Kernel, type Owner } from '../kernel/loop.js'
import { SimReplicaDisk } from './replica-log.js'

/** Write latency: a minimum plus a uniform spread, in microseconds. */
const WRITE_MIN_US = 200
const WRITE_SPREAD_US = 1800

export class SimDisk {
  readonly data = new Map<string, Uint8Array>()
  /** Called after each durable write, for checkers (e.g. epochs never go backwards). */
  onWrite: ((key: string, value: Uint8Array) => void) | undefined = undefined
  /** The node's replica log storage (its own stream of randomness, so the store's draws are unchanged). */
  readonly replica: SimReplicaDisk

  constructor(
    private readonly kernel: Kernel,
    private readonly random: SeededRandom,
  ) {
    this.replica = new SimReplicaDisk(kernel, random.fork('replica'))
  }

  /** The DurableStore of one incarnation: its pending writes die with it. */
  store(owner: Owner): DurableStore {
    return {
      read: async (key) => this.data.get(key)?.slice(),
      write: (key, value) =>
        new Promise<void>((resolve) => {
          const copy = value.slice()
          this.kernel.schedule(
            this.kernel.now + WRITE_MIN_US + this.random.next() * WRITE_SPREAD_US,
            EventKind.Service,
            () => {
              this.data.set(key, copy)
              this.onWrite?.(key, copy)
              resolve()
            },
            owner,
          )
        }),
    }
  }

  /** Keys with a prefix, for checkers; sorted for determinism. */
  keys(prefix: string): string[] {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort()
  }
}

/**
 * A node's simulated replica log (the ReplicaLog port) on its SimDisk. Like the disk it survives
 * crashes of its node. A mutation goes through two events, as a real one goes through write() and
 * fsync(): once "written" it sits in the page cache, once "synced" it is durable and its promise
 * resolves. So a resolved mutation is always durable, and what a crash leaves of the one in flight
 * depends on the crash:
 *  - a process crash (`crash`): a written mutation reaches the disk anyway (the page cache
 *    survives the process); an unwritten one vanishes;
 *  - a power loss (`powerLoss`, then crash): an unsynced mutation vanishes, or a torn prefix of it
 *    survives (a write's suffix cut, then some of its entries), since the file log cuts and appends
 *    in separate steps; compaction, reset and the cluster id are all-or-nothing.
 * Either way its promise never settles (the incarnation is gone). What the crash leaves is decided
 * lazily, at the next open or inspection, from the disk's own random stream.
 *
 * Disk faults: a broken disk (`breakDisk`) fails every later call of the incarnation, opens
 * included, and leaves the mutation in flight maybe-written; the next incarnation finds the log
 * intact up to its last durable mutation. A full disk (`full`) fails mutations that need space
 * (write, reset, setClusterId) with an ENOSPC error; compaction still works. Any failed mutation
 * poisons the instance (ReplicaLogFailedError), as the port requires.
 *
 * Invariants (asserted): entries are contiguous from `start`, epochs never decrease along the log,
 * and one instance at a time is open per incarnation (the file lock's role in production).
 */
import type { SeededRandom } from '../../src/env/prng.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { ClusterMismatchError, ReplicaLogFailedError } from '../../src/storage/errors.js'
import type { ReplicaEntry, ReplicaLog, ReplicaLogOpener, ReplicaLogState } from '../../src/storage/types.js'
import { entryBytes, entryOffsetProblem } from '../../protocols/replication/offsets.js'
import { EventKind, type Kernel, type Owner } from '../kernel/loop.js'

/** The durable content of a replica log. */
export interface ReplicaImage {
  readonly clusterId: string | undefined
  /** Index of entries[0]. */
  readonly start: number
  /** Epoch of the entry at start-1 (0 when there never was one). */
  readonly prevEpoch: number
  readonly entries: readonly ReplicaEntry[]
}

const EMPTY: ReplicaImage = { clusterId: undefined, start: 0, prevEpoch: 0, entries: [] }

/** Latencies of the write and fsync stages: a minimum plus a uniform spread, in microseconds. */
const WRITE_MIN_US = 50
const WRITE_SPREAD_US = 450
const SYNC_MIN_US = 200
const SYNC_SPREAD_US = 1800

/** The mutation in flight, kept on the disk so a crash can decide what of it survives. */
interface Pending {
  readonly incarnation: number
  /** The whole effect. */
  readonly apply: (image: ReplicaImage) => ReplicaImage
  /** What a power loss may leave of it. */
  readonly torn: (image: ReplicaImage, random: SeededRandom) => ReplicaImage
  written: boolean
}

/** The error a full disk gives, shaped like Node's. */
function noSpaceError(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' })
}

/** A node's replica log storage; one per SimDisk. */
export class SimReplicaDisk {
  /** While true, mutations that need space fail with ENOSPC. */
  full = false
  /** Called after each durable mutation (and after a crash settles one), for checkers. */
  onMutation: ((image: ReplicaImage) => void) | undefined = undefined
  private durable: ReplicaImage = EMPTY
  private pending: Pending | undefined
  private brokenIn: number | undefined
  private powerLostIn: number | undefined
  private openInstance: SimReplicaLog | undefined
  private owner: Owner | undefined

  constructor(
    private readonly kernel: Kernel,
    private readonly random: SeededRandom,
  ) {}

  /** The durable content now, after settling what a crash left of a mutation in flight. */
  image(): ReplicaImage {
    this.settle()
    return this.durable
  }

  /** The opener for one incarnation of the node. */
  opener(owner: Owner): ReplicaLogOpener {
    this.owner = owner
    const incarnation = owner.incarnation
    return {
      open: async () => {
        this.settle()
        if (owner.incarnation !== incarnation) throw new ReplicaLogFailedError('replica log opened by a dead incarnation')
        if (this.brokenIn === incarnation) throw new ReplicaLogFailedError('replica log disk is broken (simulated I/O error)', { cause: ioError() })
        const held = this.openInstance
        if (held !== undefined && held.incarnation === incarnation && !held.closed) throw new ReplicaLogFailedError('replica log is already open in this process; close it first')
        const instance = new SimReplicaLog(this, owner, incarnation)
        this.openInstance = instance
        return instance
      },
    }
  }

  /** Breaks the disk under the node's current incarnation: every later call fails until it restarts. */
  breakDisk(): void {
    if (this.owner !== undefined) this.brokenIn = this.owner.incarnation
  }

  /** True while the node's live incarnation has a broken disk. */
  get broken(): boolean {
    return this.owner !== undefined && this.owner.status !== 'crashed' && this.brokenIn === this.owner.incarnation
  }

  /** Marks the coming crash of the current incarnation as a power loss (call just before crashing it). */
  powerLoss(): void {
    if (this.owner !== undefined) this.powerLostIn = this.owner.incarnation
  }

  /** @internal */
  isBroken(incarnation: number): boolean {
    return this.brokenIn === incarnation
  }

  /** @internal */
  current(): ReplicaImage {
    return this.durable
  }

  /** @internal Runs a mutation through its write and sync events; rejects if the disk fails it. */
  mutate(owner: Owner, incarnation: number, apply: Pending['apply'], torn: Pending['torn']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { incarnation, apply, torn, written: false }
      this.pending = pending
      const broken = (): boolean => {
        if (this.brokenIn !== incarnation) return false
        // The failed I/O may or may not have reached the disk: the next incarnation finds out.
        if (!pending.written) pending.written = this.random.next() < 0.5
        reject(new ReplicaLogFailedError('replica log I/O failed (simulated broken disk)', { cause: ioError() }))
        return true
      }
      this.kernel.schedule(
        this.kernel.now + WRITE_MIN_US + this.random.next() * WRITE_SPREAD_US,
        EventKind.Service,
        () => {
          if (broken()) return
          pending.written = true
          this.kernel.schedule(
            this.kernel.now + SYNC_MIN_US + this.random.next() * SYNC_SPREAD_US,
            EventKind.Service,
            () => {
              if (broken()) return
              this.durable = apply(this.durable)
              this.pending = undefined
              this.onMutation?.(this.durable)
              resolve()
            },
            owner,
          )
        },
        owner,
      )
    })
  }

  /** Decides what a dead incarnation's mutation in flight left on the disk. */
  private settle(): void {
    const pending = this.pending
    if (pending === undefined || this.owner === undefined || pending.incarnation === this.owner.incarnation) return
    this.pending = undefined
    const before = this.durable
    if (this.powerLostIn === pending.incarnation) {
      if (pending.written) this.durable = pending.torn(this.durable, this.random)
    } else if (pending.written) {
      this.durable = pending.apply(this.durable)
    }
    if (this.durable !== before) this.onMutation?.(this.durable)
  }
}

function ioError(): Error {
  return Object.assign(new Error('EIO: i/o error (simulated)'), { code: 'EIO' })
}

function end(image: ReplicaImage): number {
  return image.start + image.entries.length
}

function epochAt(image: ReplicaImage, index: number): number | undefined {
  if (index === image.start - 1) return image.prevEpoch
  if (index < image.start || index >= end(image)) return undefined
  return image.entries[index - image.start]!.epoch
}

/** The image after cutting at `from` and appending the first `count` of `entries`. */
function written(image: ReplicaImage, from: number, entries: readonly ReplicaEntry[], count: number): ReplicaImage {
  const kept = image.entries.slice(0, from - image.start)
  for (const entry of entries.slice(0, count)) kept.push(copyEntry(entry))
  return { ...image, entries: kept }
}

/** An entry with its own copies of the records, as a disk would hold them. */
function copyEntry(entry: ReplicaEntry): ReplicaEntry {
  return { index: entry.index, epoch: entry.epoch, offset: entry.offset, payloads: entry.payloads.map((p) => p.slice()) }
}

/** One open instance of a node's replica log. */
class SimReplicaLog implements ReplicaLog {
  closed = false
  private failure: ReplicaLogFailedError | undefined

  constructor(
    private readonly disk: SimReplicaDisk,
    private readonly owner: Owner,
    readonly incarnation: number,
  ) {}

  state(): ReplicaLogState {
    const image = this.disk.current()
    return { clusterId: image.clusterId, start: image.start, end: end(image), lastEpoch: image.entries.at(-1)?.epoch ?? image.prevEpoch }
  }

  epochAt(index: number): number | undefined {
    return epochAt(this.disk.current(), index)
  }

  async setClusterId(id: string): Promise<void> {
    this.usable()
    const recorded = this.disk.current().clusterId
    if (recorded === id) return
    if (recorded !== undefined) throw new ClusterMismatchError(recorded, id)
    const apply = (image: ReplicaImage): ReplicaImage => ({ ...image, clusterId: id })
    await this.mutation(true, apply, (image, random) => (random.next() < 0.5 ? apply(image) : image))
  }

  async write(from: number, entries: readonly ReplicaEntry[]): Promise<void> {
    this.usable()
    const image = this.disk.current()
    if (from < image.start || from > end(image)) throw new InvalidArgumentError(`write from ${from} outside [${image.start}, ${end(image)}]`)
    let epoch = epochAt(image, from - 1) ?? 0
    // As the file log: offsets are checked within the write (the entry before it is not read back).
    let recordsEnd: number | undefined
    entries.forEach((entry, i) => {
      if (entry.index !== from + i) throw new InvalidArgumentError(`entry ${i} has index ${entry.index}, expected ${from + i}`)
      if (entry.epoch < epoch) throw new InvalidArgumentError(`entry ${entry.index} has epoch ${entry.epoch} after epoch ${epoch}`)
      const problem = entryOffsetProblem(entry.index, entry.offset, entry.payloads.length, recordsEnd)
      if (problem !== undefined) throw new InvalidArgumentError(`entry ${entry.index}: ${problem}`)
      epoch = entry.epoch
      recordsEnd = entry.offset + entry.payloads.length
    })
    await this.mutation(
      true,
      (image) => written(image, from, entries, entries.length),
      (image, random) => {
        // -1: nothing landed; otherwise the cut landed with the first `count` entries.
        const count = random.int(-1, entries.length)
        return count < 0 ? image : written(image, from, entries, count)
      },
    )
  }

  async read(from: number, max: number, maxBytes: number): Promise<ReplicaEntry[]> {
    this.usable()
    const image = this.disk.current()
    if (from < image.start || from > end(image)) throw new InvalidArgumentError(`read from ${from} outside [${image.start}, ${end(image)}]`)
    const out: ReplicaEntry[] = []
    let bytes = 0
    for (let i = from - image.start; i < image.entries.length && out.length < max; i++) {
      const entry = image.entries[i]!
      const size = entryBytes(entry)
      if (out.length > 0 && bytes + size > maxBytes) break
      bytes += size
      out.push(copyEntry(entry))
    }
    return out
  }

  async compact(index: number): Promise<void> {
    this.usable()
    const image = this.disk.current()
    if (index < image.start || index > end(image)) throw new InvalidArgumentError(`compact to ${index} outside [${image.start}, ${end(image)}]`)
    if (index === image.start) return
    const apply = (image: ReplicaImage): ReplicaImage => ({ ...image, start: index, prevEpoch: epochAt(image, index - 1)!, entries: image.entries.slice(index - image.start) })
    await this.mutation(false, apply, (image, random) => (random.next() < 0.5 ? apply(image) : image))
  }

  async reset(start: number, prevEpoch: number): Promise<void> {
    this.usable()
    if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(prevEpoch) || prevEpoch < 0)
      throw new InvalidArgumentError(`reset(${start}, ${prevEpoch}): not non-negative integers`)
    const apply = (image: ReplicaImage): ReplicaImage => ({ clusterId: image.clusterId, start, prevEpoch, entries: [] })
    await this.mutation(true, apply, (image, random) => (random.next() < 0.5 ? apply(image) : image))
  }

  async close(): Promise<void> {
    this.closed = true
  }

  /** Rejects when the instance is closed, poisoned, or its disk is broken (which poisons it). */
  private usable(): void {
    if (this.closed) throw new ReplicaLogFailedError('replica log is closed')
    if (this.failure === undefined && this.disk.isBroken(this.incarnation))
      this.failure = new ReplicaLogFailedError('replica log disk is broken (simulated I/O error)', { cause: ioError() })
    if (this.failure !== undefined) throw this.failure
  }

  private async mutation(needsSpace: boolean, apply: Pending['apply'], torn: Pending['torn']): Promise<void> {
    if (needsSpace && this.disk.full) {
      this.failure = new ReplicaLogFailedError('replica log write failed: no space left on device', { cause: noSpaceError() })
      throw this.failure
    }
    try {
      await this.disk.mutate(this.owner, this.incarnation, apply, torn)
    } catch (error) {
      this.failure = error instanceof ReplicaLogFailedError ? error : new ReplicaLogFailedError('replica log write failed', { cause: error })
      throw this.failure
    }
  }
}

/**
 * Pending asks and their deadlines.
 *
 * Every ask has a deadline. Rather than one timer per ask, deadlines are grouped into 1 ms buckets
 * with one environment timer armed for the earliest bucket; settling an ask removes it from its
 * bucket in O(1) (swap with the last entry). This keeps a million asks a second cheap and keeps
 * memory proportional to the asks actually in flight.
 */
import type { ActorAddress } from './address.js'
import { formatAddress } from './address.js'
import { abortError } from '../env/abort.js'
import type { Clock, TimerHandle, Timers } from '../env/types.js'
import { AskTimeoutError } from '../errors.js'
import { MinHeap } from '../util/heap.js'

/** Where the answer to a message goes: a local pending ask, or a reply envelope to another node. */
export interface ReplyTarget {
  resolve(value: unknown): void
  reject(error: Error): void
}

/**
 * The resolving functions of the promise being built (see PendingAsk's constructor): one shared
 * executor instead of a closure (and its context) per ask.
 */
let capturedResolve: ((value: unknown) => void) | undefined
let capturedReject: ((error: Error) => void) | undefined
function capture(resolve: (value: unknown) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve
  capturedReject = reject
}

/** One ask waiting for its reply. */
export class PendingAsk implements ReplyTarget {
  readonly promise: Promise<unknown>
  settled = false
  /** The bucket holding this ask and its index there, for O(1) removal. */
  bucket: PendingAsk[] | undefined = undefined
  index = -1
  /** The signal that cancels this ask, if any. */
  signal: AbortSignal | undefined = undefined
  /** Called once when the ask settles; remote messaging uses it to forget the request id. */
  onSettle: (() => void) | undefined = undefined
  /** Monotonic time the ask times out at (what a relay that stamps deadlines reads, instead of the clock again). */
  deadlineMs = 0
  private readonly resolveFn: (value: unknown) => void
  private readonly rejectFn: (error: Error) => void

  constructor(
    private readonly registry: AskRegistry,
    readonly target: ActorAddress,
    readonly timeoutMs: number,
  ) {
    // The executor runs synchronously, so the captured functions are this promise's.
    this.promise = new Promise(capture)
    this.resolveFn = capturedResolve!
    this.rejectFn = capturedReject!
    capturedResolve = capturedReject = undefined
  }

  resolve(value: unknown): void {
    if (this.settled) return
    this.finish()
    this.resolveFn(value)
  }

  reject(error: Error): void {
    if (this.settled) return
    this.finish()
    this.rejectFn(error)
  }

  private finish(): void {
    this.settled = true
    this.registry.remove(this)
    this.onSettle?.()
  }
}

/** The asks that share one AbortSignal, and the single listener that cancels them all. */
interface SignalWatch {
  readonly asks: Set<PendingAsk>
  readonly listener: () => void
}

/**
 * Tracks every pending ask of one actor system and rejects those whose deadline passes or whose
 * signal aborts. Asks sharing a signal share one abort listener, so a thousand asks under one
 * signal do not pile a thousand listeners onto it.
 */
export class AskRegistry {
  private readonly buckets = new Map<number, PendingAsk[]>()
  private readonly bucketTimes = new MinHeap<number>((a, b) => a < b)
  private armed: TimerHandle | undefined = undefined
  private armedAt = Infinity
  private inflightCount = 0
  private readonly signals = new Map<AbortSignal, SignalWatch>()

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    /** Called whenever an ask settles; the system uses it to detect quiescence during shutdown. */
    private readonly onSettle: () => void,
  ) {}

  /** Number of asks waiting for a reply. */
  get inflight(): number {
    return this.inflightCount
  }

  /** Registers a new ask whose deadline is `timeoutMs` from now. */
  create(target: ActorAddress, timeoutMs: number, signal: AbortSignal | undefined): PendingAsk {
    const pending = new PendingAsk(this, target, timeoutMs)
    pending.deadlineMs = this.clock.monotonicMs() + timeoutMs
    const deadline = Math.ceil(pending.deadlineMs)
    let bucket = this.buckets.get(deadline)
    if (bucket === undefined) {
      bucket = []
      this.buckets.set(deadline, bucket)
      this.bucketTimes.push(deadline)
      if (deadline < this.armedAt) this.arm(deadline)
    }
    pending.bucket = bucket
    pending.index = bucket.length
    bucket.push(pending)
    this.inflightCount++
    if (signal !== undefined) this.watchSignal(pending, signal)
    return pending
  }

  /** Forgets a settled ask. */
  remove(pending: PendingAsk): void {
    const bucket = pending.bucket
    if (bucket === undefined) return
    const last = bucket.pop()!
    if (last !== pending) {
      bucket[pending.index] = last
      last.index = pending.index
    }
    pending.bucket = undefined
    this.inflightCount--
    if (pending.signal !== undefined) this.unwatchSignal(pending, pending.signal)
    this.onSettle()
  }

  private watchSignal(pending: PendingAsk, signal: AbortSignal): void {
    if (signal.aborted) {
      pending.reject(abortError(signal))
      return
    }
    pending.signal = signal
    let watch = this.signals.get(signal)
    if (watch === undefined) {
      const asks = new Set<PendingAsk>()
      const listener = (): void => {
        this.signals.delete(signal)
        for (const ask of [...asks]) ask.reject(abortError(signal))
      }
      watch = { asks, listener }
      this.signals.set(signal, watch)
      signal.addEventListener('abort', listener, { once: true })
    }
    watch.asks.add(pending)
  }

  private unwatchSignal(pending: PendingAsk, signal: AbortSignal): void {
    const watch = this.signals.get(signal)
    if (watch === undefined) return
    watch.asks.delete(pending)
    if (watch.asks.size === 0) {
      this.signals.delete(signal)
      signal.removeEventListener('abort', watch.listener)
    }
  }

  /** Rejects every pending ask with the error `make` builds for it. */
  rejectAll(make: (pending: PendingAsk) => Error): void {
    const all: PendingAsk[] = []
    for (const bucket of this.buckets.values()) all.push(...bucket)
    for (const pending of all) pending.reject(make(pending))
  }

  /** Cancels the deadline timer; used when the system stops. */
  close(): void {
    if (this.armed !== undefined) this.timers.cancel(this.armed)
    this.armed = undefined
    this.armedAt = Infinity
  }

  private arm(deadline: number): void {
    if (this.armed !== undefined) this.timers.cancel(this.armed)
    this.armedAt = deadline
    this.armed = this.timers.schedule(Math.max(0, deadline - this.clock.monotonicMs()), () => this.expire())
  }

  private expire(): void {
    this.armed = undefined
    this.armedAt = Infinity
    const now = this.clock.monotonicMs()
    for (let t = this.bucketTimes.peek(); t !== undefined; t = this.bucketTimes.peek()) {
      const bucket = this.buckets.get(t)
      if (bucket === undefined || bucket.length === 0) {
        this.buckets.delete(t)
        this.bucketTimes.pop()
        continue
      }
      if (t > now) {
        this.arm(t)
        return
      }
      this.buckets.delete(t)
      this.bucketTimes.pop()
      for (const pending of bucket.slice()) {
        pending.reject(new AskTimeoutError(formatAddress(pending.target), pending.timeoutMs))
      }
    }
  }
}

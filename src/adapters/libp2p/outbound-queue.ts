/**
 * The bytes queued for one peer: whole frames, in order, waiting for credit and the next flush.
 *
 * Frames are written straight into large slabs (one copy of the payload, no per-message objects),
 * and a flush hands out views of the slabs. Bytes once handed out are never written again, because
 * libp2p may still hold them; new frames go after them in the same slab or into a new one.
 * Invariants: `bytes` is the sum of queued frame sizes; `take` returns whole frames only, in order.
 * Slabs are not zero-filled (that cost as much as the copy itself): the caller of `reserve` writes
 * every byte it reserved before anything is taken, and bytes never reserved are never handed out.
 *
 * Slab sizes follow the traffic: the first is SLAB_MIN_BYTES, each one filled while frames still
 * wait doubles the next up to `slabBytes`, and a queue that drains goes back to the least, dropping
 * a larger slab. Why: a handed-out view keeps its whole slab alive, and every stage of libp2p's
 * write path (pushable, yamux, noise, the socket) holds the last chunk it wrote until the next one,
 * so an idle channel kept several 64 KB slabs: 56 of them, 3.6 MB, in an idle worker of 50 peers.
 */
import { assert } from '../../assert.js'
import { frameBytesAt } from './framing.js'

/** The smallest slab: a quiet channel's records and probes fit in one. */
export const SLAB_MIN_BYTES = 4096

const NO_SLAB = new Uint8Array(0)

export class OutboundQueue {
  /** Full slabs' unsent regions, oldest first, each made of whole frames. */
  private readonly sealed: Uint8Array[] = []
  private slab: Uint8Array = NO_SLAB
  /** First unsent byte of the current slab. */
  private start = 0
  /** First free byte of the current slab. */
  private end = 0
  private queued = 0
  private readonly minBytes: number
  /** Size of the next slab (unless a frame needs more). */
  private nextBytes: number

  /** `slabBytes`: the largest slab, reached while frames keep coming faster than they are sent. */
  constructor(private readonly slabBytes: number) {
    assert(Number.isInteger(slabBytes) && slabBytes > 0, `bad slab size ${slabBytes}`)
    this.minBytes = Math.min(SLAB_MIN_BYTES, slabBytes)
    this.nextBytes = this.minBytes
  }

  /** Bytes waiting to be sent. */
  get bytes(): number {
    return this.queued
  }

  /** The buffer of the last `reserve`; read it after calling `reserve`, which may switch buffers. */
  get buffer(): Uint8Array {
    return this.slab
  }

  /** Makes room for one frame of `frameBytes` and returns its offset in `buffer`; the caller writes the frame there at once. */
  reserve(frameBytes: number): number {
    assert(frameBytes > 0, 'empty frame')
    if (this.slab.length - this.end < frameBytes) {
      if (this.end > this.start) this.sealed.push(this.slab.subarray(this.start, this.end))
      this.slab = Buffer.allocUnsafeSlow(Math.max(this.nextBytes, frameBytes))
      this.nextBytes = Math.min(this.slabBytes, 2 * this.nextBytes)
      this.start = 0
      this.end = 0
    }
    const offset = this.end
    this.end += frameBytes
    this.queued += frameBytes
    return offset
  }

  /** Removes and returns the longest run of whole frames totalling at most `budgetBytes`. */
  take(budgetBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let budget = budgetBytes
    while (this.sealed.length > 0 && budget > 0) {
      const region = this.sealed[0]!
      const cut = region.length <= budget ? region.length : wholeFramesWithin(region, budget)
      if (cut === 0) return out
      out.push(cut === region.length ? region : region.subarray(0, cut))
      budget -= cut
      this.queued -= cut
      if (cut === region.length) this.sealed.shift()
      else this.sealed[0] = region.subarray(cut)
    }
    if (this.sealed.length > 0 || budget === 0 || this.end === this.start) return out
    const region = this.slab.subarray(this.start, this.end)
    const cut = region.length <= budget ? region.length : wholeFramesWithin(region, budget)
    if (cut > 0) {
      out.push(cut === region.length ? region : region.subarray(0, cut))
      this.start += cut
      this.queued -= cut
    }
    if (this.queued === 0) this.drained()
    return out
  }

  /** Nothing waits: the next slab is the least again, and a larger current one is let go. */
  private drained(): void {
    this.nextBytes = this.minBytes
    if (this.slab.length <= this.minBytes) return
    this.slab = NO_SLAB
    this.start = 0
    this.end = 0
  }

  /** Forgets every queued frame and returns how many bytes were dropped. */
  clear(): number {
    const dropped = this.queued
    this.sealed.length = 0
    this.start = this.end
    this.queued = 0
    this.drained()
    return dropped
  }
}

/** Bytes of the longest prefix of whole frames in `region` that fits in `budget`. */
function wholeFramesWithin(region: Uint8Array, budget: number): number {
  let offset = 0
  for (;;) {
    const next = offset + frameBytesAt(region, offset)
    if (next > budget) return offset
    offset = next
  }
}

/**
 * Credit-based flow control of one mesh stream, one object per direction. libp2p's muxer credits
 * its window when it reads bytes off the socket, not when our handlers have run, so a slow receiver
 * would otherwise let megabytes pile up inside libp2p (and the sender would never know).
 *
 * Credit counts the bytes of DATA and BIND frames (headers included); CREDIT and KEEPALIVE frames
 * are free, so granting credit can never be blocked by a lack of credit. The receiver grants its
 * whole window when the stream opens and then returns credit as its handlers consume frames, in
 * grants of at least a quarter window. Invariants: the sender never has more than the window
 * outstanding (bytes written minus bytes granted back); the receiver treats a frame beyond that
 * as a protocol violation. As long as the window holds two largest frames, credit cannot deadlock:
 * a sender waiting for one frame's worth has more than half a window unconsumed or ungranted at
 * the receiver, which is above the grant threshold.
 */
import { assert } from '../../assert.js'
import { ProtocolViolationError } from './errors.js'
import { CREDIT_MAX_BYTES } from './framing.js'

/** The sending side: how many bytes this side may still write. */
export class SendCredit {
  private available = 0

  /** Bytes that may be written now. */
  get bytes(): number {
    return this.available
  }

  /** Adds credit granted by the peer; a grant that would exceed any sane window is a violation. */
  grant(bytes: number): void {
    if (this.available + bytes > CREDIT_MAX_BYTES) throw new ProtocolViolationError(`credit grant of ${bytes} bytes overflows the window`)
    this.available += bytes
  }

  /** Uses credit for bytes being written. */
  spend(bytes: number): void {
    assert(bytes >= 0 && bytes <= this.available, `spending ${bytes} bytes of credit with ${this.available} available`)
    this.available -= bytes
  }
}

/** The receiving side: what the peer may still send, and what has been consumed but not yet granted back. */
export class ReceiveWindow {
  private allowance = 0
  private ungranted = 0
  private readonly thresholdBytes: number

  constructor(readonly windowBytes: number) {
    assert(Number.isInteger(windowBytes) && windowBytes > 0 && windowBytes <= CREDIT_MAX_BYTES, `bad window ${windowBytes}`)
    this.thresholdBytes = Math.max(1, Math.floor(windowBytes / 4))
  }

  /** The grant that opens the window; call once, when the stream opens. */
  open(): number {
    assert(this.allowance === 0 && this.ungranted === 0, 'window opened twice')
    this.allowance = this.windowBytes
    return this.windowBytes
  }

  /** Accounts a counted frame as it arrives, before it is handled; throws when the peer overran its credit. */
  received(frameBytes: number): void {
    this.allowance -= frameBytes
    if (this.allowance < 0) throw new ProtocolViolationError(`peer sent ${-this.allowance} bytes beyond its credit`)
  }

  /** Accounts frames whose handlers have run. */
  consumed(frameBytes: number): void {
    this.ungranted += frameBytes
    assert(this.allowance + this.ungranted <= this.windowBytes, 'consumed more than was received')
  }

  /** The credit to grant now (0 when below the threshold); the caller must send it. */
  takeGrant(): number {
    if (this.ungranted < this.thresholdBytes) return 0
    const grant = this.ungranted
    this.ungranted = 0
    this.allowance += grant
    return grant
  }
}

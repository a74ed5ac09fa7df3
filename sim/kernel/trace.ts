/**
 * The trace hash: a running 64-bit digest (two independent 32-bit lanes) of every event the
 * simulator executes, its time, node and payload. Two runs of one seed must produce the same hash;
 * checkpoints every CHECKPOINT_EVENTS events let a mismatch be narrowed to the first diverging window.
 */

/** Events between checkpoints. */
export const CHECKPOINT_EVENTS = 10_000

export class TraceHash {
  private a = 0x811c9dc5
  private b = 0x01000193
  private events = 0
  readonly checkpoints: string[] = []

  /** Folds one number into both lanes. */
  number(x: number): void {
    const lo = x | 0
    const hi = Math.floor(x / 4294967296) | 0
    this.a = Math.imul(this.a ^ lo, 0x01000193)
    this.a = Math.imul(this.a ^ hi, 0x01000193)
    this.b = Math.imul(this.b ^ lo, 0x5bd1e995) ^ (this.b >>> 13)
    this.b = Math.imul(this.b ^ hi, 0x5bd1e995) ^ (this.b >>> 13)
  }

  /** Folds a string into both lanes. */
  text(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      this.a = Math.imul(this.a ^ c, 0x01000193)
      this.b = Math.imul(this.b ^ c, 0x5bd1e995) ^ (this.b >>> 13)
    }
    this.number(s.length)
  }

  /** Folds bytes into both lanes. */
  bytes(data: Uint8Array): void {
    let a = this.a
    let b = this.b
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 13)
    }
    this.a = a
    this.b = b
    this.number(data.length)
  }

  /** Marks the end of one event; records a checkpoint every CHECKPOINT_EVENTS events. */
  endEvent(): void {
    this.events++
    if (this.events % CHECKPOINT_EVENTS === 0) this.checkpoints.push(this.hex())
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0')
  }
}

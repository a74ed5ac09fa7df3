/**
 * A bounded FIFO ring buffer holding (message, reply target) pairs side by side in one array, so a
 * send allocates nothing once the buffer has grown. It starts small and doubles up to its capacity.
 */
import type { ReplyTarget } from './reply.js'

const INITIAL_SLOTS = 16

export class Mailbox {
  private slots: unknown[] = new Array(INITIAL_SLOTS * 2)
  private head = 0
  private count = 0
  /** The reply target of the message most recently returned by `shift`. */
  shiftedReply: ReplyTarget | undefined = undefined

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count
  }

  /** Appends a message; false when the mailbox is at capacity. */
  push(message: unknown, reply: ReplyTarget | undefined): boolean {
    if (this.count >= this.capacity) return false
    let slots = this.slots
    if (this.count === slots.length >> 1) slots = this.grow()
    const i = ((this.head + this.count) & ((slots.length >> 1) - 1)) << 1
    slots[i] = message
    slots[i + 1] = reply
    this.count++
    return true
  }

  /** Removes and returns the oldest message; its reply target is left in `shiftedReply`. */
  shift(): unknown {
    const slots = this.slots
    const i = this.head << 1
    const message = slots[i]
    this.shiftedReply = slots[i + 1] as ReplyTarget | undefined
    slots[i] = undefined
    slots[i + 1] = undefined
    this.head = (this.head + 1) & ((slots.length >> 1) - 1)
    this.count--
    return message
  }

  private grow(): unknown[] {
    const old = this.slots
    const entries = old.length >> 1
    const next = new Array(old.length * 2)
    for (let k = 0; k < this.count; k++) {
      const from = ((this.head + k) & (entries - 1)) << 1
      next[k << 1] = old[from]
      next[(k << 1) + 1] = old[from + 1]
    }
    this.slots = next
    this.head = 0
    return next
  }
}

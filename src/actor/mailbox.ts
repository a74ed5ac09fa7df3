/**
 * A bounded FIFO ring buffer holding (message, reply target, sender) triples side by side in one
 * array, so a send allocates nothing once the buffer has grown. It starts small and doubles up to
 * its capacity. The sender is the node a message came from over the network, undefined for local sends.
 */
import type { ReplyTarget } from './reply.js'

/** Small: most actors (an entity activation, say) hold a message or two at a time; the buffer doubles as needed. */
const INITIAL_ENTRIES = 4
const STRIDE = 3

export class Mailbox {
  private slots: unknown[] = new Array(INITIAL_ENTRIES * STRIDE)
  /** Entries the slots hold; always a power of two. */
  private entries = INITIAL_ENTRIES
  private head = 0
  private count = 0
  /** The reply target of the message most recently returned by `shift`. */
  shiftedReply: ReplyTarget | undefined = undefined
  /** The remote sender of the message most recently returned by `shift`. */
  shiftedSender: string | undefined = undefined

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count
  }

  /** Appends a message; false when the mailbox is at capacity. */
  push(message: unknown, reply: ReplyTarget | undefined, sender?: string): boolean {
    if (this.count >= this.capacity) return false
    if (this.count === this.entries) this.grow()
    const slots = this.slots
    const i = ((this.head + this.count) & (this.entries - 1)) * STRIDE
    slots[i] = message
    slots[i + 1] = reply
    slots[i + 2] = sender
    this.count++
    return true
  }

  /** Removes and returns the oldest message; its reply target and sender are left in `shiftedReply` and `shiftedSender`. */
  shift(): unknown {
    const slots = this.slots
    const i = this.head * STRIDE
    const message = slots[i]
    this.shiftedReply = slots[i + 1] as ReplyTarget | undefined
    this.shiftedSender = slots[i + 2] as string | undefined
    slots[i] = undefined
    slots[i + 1] = undefined
    slots[i + 2] = undefined
    this.head = (this.head + 1) & (this.entries - 1)
    this.count--
    return message
  }

  private grow(): void {
    const old = this.slots
    const next = new Array(old.length * 2)
    for (let k = 0; k < this.count; k++) {
      const from = ((this.head + k) & (this.entries - 1)) * STRIDE
      const to = k * STRIDE
      next[to] = old[from]
      next[to + 1] = old[from + 1]
      next[to + 2] = old[from + 2]
    }
    this.slots = next
    this.entries *= 2
    this.head = 0
  }
}

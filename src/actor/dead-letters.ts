/** Messages that could not be delivered: counted by reason and offered to subscribers. */
import type { Logger } from '../env/types.js'

/** Why a message became a dead letter. */
export type DeadLetterReason = 'not-found' | 'stopped' | 'mailbox-full' | 'unhandled' | 'shutdown' | 'unreachable' | 'forbidden'

/** One undelivered message. */
export interface DeadLetter {
  readonly recipient: string
  readonly message: unknown
  readonly reason: DeadLetterReason
}

/** Every dead-letter reason, in a stable order. */
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = ['not-found', 'stopped', 'mailbox-full', 'unhandled', 'shutdown', 'unreachable', 'forbidden']

/** The dead-letter office of one actor system. */
export class DeadLetters {
  private total = 0
  private readonly counts = new Map<DeadLetterReason, number>(DEAD_LETTER_REASONS.map((r) => [r, 0]))
  private readonly listeners = new Set<(letter: DeadLetter) => void>()

  constructor(private readonly log: Logger) {}

  /** Dead letters recorded so far. */
  get count(): number {
    return this.total
  }

  /** Dead letters recorded so far for one reason. */
  countOf(reason: DeadLetterReason): number {
    return this.counts.get(reason) ?? 0
  }

  /** Calls `listener` for every future dead letter; returns a function that unsubscribes. */
  subscribe(listener: (letter: DeadLetter) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Records an undelivered message. */
  publish(recipient: string, message: unknown, reason: DeadLetterReason): void {
    this.total++
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1)
    if (this.listeners.size === 0) return
    const letter: DeadLetter = { recipient, message, reason }
    for (const listener of this.listeners) {
      try {
        listener(letter)
      } catch (error) {
        this.log.warn('dead-letter listener threw', { error })
      }
    }
  }
}

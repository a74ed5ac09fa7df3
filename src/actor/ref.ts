/**
 * Actor references. A reference is an address plus, for local actors, a cached pointer to the cell
 * so that a send is a direct mailbox push. When the cached cell is gone the reference resolves its
 * address again, which also routes to actors on other nodes.
 *
 * A reference sees its cell and its system only through the two interfaces below, so this module
 * depends on neither (cell.ts and system.ts import it, not the other way round).
 */
import { InvalidArgumentError } from '../errors.js'
import { type ActorAddress, formatAddress, sameAddress } from './address.js'
import type { PendingAsk, ReplyTarget } from './reply.js'
import type { ActorRef, AnyActorRef, AskOptions, Message } from './types.js'

/** A local actor as its references reach it: a direct mailbox push while it is open. */
export interface LocalTarget {
  readonly closed: boolean
  enqueue(message: unknown, reply: ReplyTarget | undefined): void
}

/** What a reference needs of the actor system's runtime: asks, and the slow path of a send. */
export interface RefRuntime {
  /** Resolves `ref`'s address again (on this node, refreshing `ref.cell`; or on another) and delivers there. */
  deliver(ref: ActorRefImpl<Message>, message: unknown, reply: ReplyTarget | undefined): void
  /** Registers an ask to `target`; the pending ask is already rejected if the system has stopped. */
  createAsk(target: ActorAddress, timeoutMs: number, signal: AbortSignal | undefined): PendingAsk
}

export class ActorRefImpl<M extends Message> implements ActorRef<M> {
  constructor(
    readonly address: ActorAddress,
    private readonly system: RefRuntime,
    /** The local cell last resolved for this address. */
    public cell: LocalTarget | undefined,
  ) {}

  tell(message: M): void {
    const cell = this.cell
    if (cell !== undefined && !cell.closed) cell.enqueue(message, undefined)
    else this.system.deliver(this, message, undefined)
  }

  ask(message: M, options: AskOptions): Promise<never> {
    const timeoutMs = options?.timeoutMs
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(new InvalidArgumentError(`ask needs a positive, finite timeoutMs; got ${String(timeoutMs)}`))
    }
    const pending = this.system.createAsk(this.address, timeoutMs, options.signal)
    if (!pending.settled) {
      const cell = this.cell
      if (cell !== undefined && !cell.closed) cell.enqueue(message, pending)
      else this.system.deliver(this, message, pending)
    }
    return pending.promise as Promise<never>
  }

  /**
   * @internal Delivers `message` with a reply target the caller already holds, so an actor that
   * relays an ask (the entities actor, to an activation) answers the original asker directly
   * instead of opening a second ask with its own promise and deadline.
   */
  relay(message: M, reply: ReplyTarget | undefined): void {
    const cell = this.cell
    if (cell !== undefined && !cell.closed) cell.enqueue(message, reply)
    else this.system.deliver(this, message, reply)
  }

  equals(other: AnyActorRef): boolean {
    return sameAddress(this.address, other.address)
  }

  toString(): string {
    return formatAddress(this.address)
  }

  toJSON(): string {
    return formatAddress(this.address)
  }
}

/** @internal See ActorRefImpl.relay; false when `ref` is not a runtime reference (the caller asks instead). */
export function relay(ref: AnyActorRef, message: unknown, reply: ReplyTarget | undefined): boolean {
  if (!(ref instanceof ActorRefImpl)) return false
  ;(ref as ActorRefImpl<Message>).relay(message as Message, reply)
  return true
}

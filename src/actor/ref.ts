/**
 * Actor references. A reference is an address plus, for local actors, a cached pointer to the cell
 * so that a send is a direct mailbox push. When the cached cell is gone the reference resolves its
 * address again, which also routes to actors on other nodes.
 */
import { InvalidArgumentError } from '../errors.js'
import { type ActorAddress, formatAddress, sameAddress } from './address.js'
import type { ActorCell } from './cell.js'
import type { ActorSystem } from './system.js'
import type { ActorRef, AnyActorRef, AskOptions, Message } from './types.js'

export class ActorRefImpl<M extends Message> implements ActorRef<M> {
  constructor(
    readonly address: ActorAddress,
    private readonly system: ActorSystem,
    /** The local cell last resolved for this address. */
    public cell: ActorCell | undefined,
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

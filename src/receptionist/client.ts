/**
 * `node.receptionist` (and `receptionistOf(ctx)` inside an actor): register actors of this node
 * under service keys, subscribe to a key's live refs across the cluster, find them once. Every
 * call goes to this node's receptionist actor, which keeps the cluster's view.
 */
import { defineActor } from '../actor/define.js'
import { formatAddress } from '../actor/address.js'
import type { ActorContext, ActorDef, ActorRef, AnyActorRef, Message } from '../actor/types.js'
import { InvalidArgumentError } from '../errors.js'
import { RECEPTIONIST_PATH, type ReceptionistMsg } from './protocol.js'
import type { Listing, ServiceKey } from './types.js'

/** How long register, deregister and find wait for the receptionist by default. */
const TIMEOUT_MS = 5000

/** Spawns and stops the helper actor that hands listings to a callback subscriber. */
export interface ListenerHost {
  spawn<C extends Message>(def: ActorDef<C>): ActorRef<C>
  stop(ref: AnyActorRef): void
}

export class ReceptionistClient {
  constructor(
    private readonly receptionist: ActorRef<ReceptionistMsg>,
    private readonly host: ListenerHost,
  ) {}

  /**
   * Registers `ref` (an actor of this node) under `key` until it terminates or is deregistered.
   * Rejects with InvalidArgumentError for an actor of another node, ReceptionistFullError past the bounds.
   */
  async register<P extends Message>(key: ServiceKey<P>, ref: ActorRef<P>, options: { timeoutMs?: number } = {}): Promise<void> {
    this.local(ref, 'registered')
    await this.receptionist.ask({ type: 'register', key: key.id, ref }, { timeoutMs: options.timeoutMs ?? TIMEOUT_MS })
  }

  /** Removes `ref` from `key`; resolves once every peer will be told. */
  async deregister<P extends Message>(key: ServiceKey<P>, ref: ActorRef<P>, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.receptionist.ask({ type: 'deregister', key: key.id, ref }, { timeoutMs: options.timeoutMs ?? TIMEOUT_MS })
  }

  /**
   * Sends `subscriber` (an actor of this node, or a callback) the Listing of `key` at once and after
   * every change, until it terminates or the returned function is called.
   */
  subscribe<P extends Message>(key: ServiceKey<P>, subscriber: ActorRef<Listing<P>> | ((listing: Listing<P>) => void)): () => void {
    if (typeof subscriber !== 'function') {
      this.local(subscriber, 'a subscriber')
      this.receptionist.tell({ type: 'subscribe', key: key.id, subscriber: subscriber as unknown as ActorRef<Listing<Message>> })
      return () => this.receptionist.tell({ type: 'unsubscribe', key: key.id, subscriber })
    }
    const listener = this.host.spawn(
      defineActor<Listing<P>>({
        remote: { listing: 'never' },
        setup: () => ({ listing: (m) => subscriber(m) }),
      }),
    )
    this.receptionist.tell({ type: 'subscribe', key: key.id, subscriber: listener as unknown as ActorRef<Listing<Message>> })
    // The receptionist watches the listener: stopping it ends the subscription.
    return () => this.host.stop(listener)
  }

  /** The refs registered under `key` on every reachable node now, sorted by address. */
  async find<P extends Message>(key: ServiceKey<P>, options: { timeoutMs?: number } = {}): Promise<Array<ActorRef<P>>> {
    const refs = await this.receptionist.ask({ type: 'find', key: key.id }, { timeoutMs: options.timeoutMs ?? TIMEOUT_MS })
    return refs as unknown as Array<ActorRef<P>>
  }

  private local(ref: AnyActorRef, what: string): void {
    const node = this.receptionist.address.node
    if (ref.address.node !== node) throw new InvalidArgumentError(`only actors of this node (${node}) can be ${what}; ${formatAddress(ref.address)} lives on ${ref.address.node}`)
  }
}

/** The receptionist of the node an actor runs on; callback subscribers become children of that actor. */
export function receptionistOf<M extends Message, R>(ctx: ActorContext<M, R>): ReceptionistClient {
  const node = ctx.self.address.node
  return new ReceptionistClient(ctx.ref<ReceptionistMsg>({ node, path: RECEPTIONIST_PATH }), {
    spawn: (def) => ctx.spawn(def),
    stop: (ref) => ctx.stop(ref),
  })
}

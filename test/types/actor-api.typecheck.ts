// Goal: the actor API rejects protocol mistakes at compile time. `npm test` runs tsc over this file;
// every @ts-expect-error line must produce a type error, or tsc fails the suite.
import { defineActor } from '../../src/actor/define.js'
import type { ActorRef, Ask } from '../../src/actor/types.js'

type Account = { type: 'deposit'; amount: number } | Ask<{ type: 'balance' }, number> | Ask<{ type: 'owner'; upper: boolean }, string>

export const account = defineActor<Account>({
  setup() {
    let balance = 0
    return {
      deposit(msg) {
        balance += msg.amount
      },
      balance: () => balance,
      owner: async (msg) => (msg.upper ? 'ADA' : 'ada'),
    }
  },
})

export async function usage(ref: ActorRef<Account>): Promise<void> {
  ref.tell({ type: 'deposit', amount: 5 })
  const balance: number = await ref.ask({ type: 'balance' }, { timeoutMs: 100 })
  const owner: string = await ref.ask({ type: 'owner', upper: true }, { timeoutMs: 100 })
  void balance
  void owner

  // @ts-expect-error a message type the actor does not accept
  ref.tell({ type: 'withdraw', amount: 1 })
  // @ts-expect-error a field of the wrong type
  ref.tell({ type: 'deposit', amount: '5' })
  // @ts-expect-error tell-only messages cannot be asked
  await ref.ask({ type: 'deposit', amount: 1 }, { timeoutMs: 100 })
  // @ts-expect-error the reply of 'balance' is a number, not a string
  const wrong: string = await ref.ask({ type: 'balance' }, { timeoutMs: 100 })
  void wrong
  // @ts-expect-error a required field is missing
  await ref.ask({ type: 'owner' }, { timeoutMs: 100 })
  // @ts-expect-error a field the message does not declare
  await ref.ask({ type: 'balance', extra: 1 }, { timeoutMs: 100 })
  // @ts-expect-error the timeout is mandatory
  await ref.ask({ type: 'balance' }, {})
  // @ts-expect-error options are mandatory
  await ref.ask({ type: 'balance' })
}

export const missingHandler = defineActor<Account>({
  // @ts-expect-error every message type needs a handler
  setup: () => ({ deposit() {}, balance: () => 0 }),
})

export const wrongReply = defineActor<Account>({
  setup: () => ({
    deposit() {},
    // @ts-expect-error an ask handler must return its reply type
    balance: () => 'zero',
    owner: () => 'x',
  }),
})

export const deferred = defineActor<Account>({
  setup: () => ({
    deposit() {},
    balance: (_msg, ctx) => ctx.defer(),
    owner(_msg, ctx) {
      const reply = ctx.defer()
      // @ts-expect-error a deferred reply is typed like the return value
      reply.resolve(42)
      return reply
    },
  }),
})

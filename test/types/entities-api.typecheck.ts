// Goal: entity references type-check exactly like local actor refs, and definitions check handlers
// and state against their protocol. `npm test` runs tsc over this file; every @ts-expect-error line
// must produce a type error, or tsc fails the suite.
import { defineEntity, type ActorRef, type Ask, type AssembledNode, type EntityRef } from '../../src/index.js'

type Account = { type: 'deposit'; amount: number } | Ask<{ type: 'balance' }, number>

export const account = defineEntity<Account, number>('account', {
  persistent: true,
  passivateAfterMs: 60_000,
  async setup(ctx) {
    const key: string = ctx.key
    void key
    let balance = (await ctx.state.load()) ?? 0
    return {
      deposit: async (msg) => {
        balance += msg.amount
        await ctx.state.save(balance)
      },
      balance: () => balance,
    }
  },
})

export const wrongState = defineEntity<Account, number>('wrong', {
  setup(ctx) {
    // @ts-expect-error the state of this type is a number
    void ctx.state.save('ten')
    return { deposit: () => {}, balance: () => 0 }
  },
})

// @ts-expect-error a handler is missing
export const missing = defineEntity<Account>('missing', { setup: () => ({ deposit: () => {} }) })

// @ts-expect-error balance must answer a number
export const wrongReply = defineEntity<Account>('wrong-reply', { setup: () => ({ deposit: () => {}, balance: () => 'ten' }) })

export async function usage(node: AssembledNode): Promise<void> {
  const ref: EntityRef<Account> = node.entities.get(account, 'alice')
  const asLocal: ActorRef<Account> = ref
  ref.tell({ type: 'deposit', amount: 5 })
  const balance: number = await ref.ask({ type: 'balance' }, { timeoutMs: 1000 })
  void balance
  void asLocal
  // @ts-expect-error amount is a number
  ref.tell({ type: 'deposit', amount: '5' })
  // @ts-expect-error not a message of the protocol
  ref.tell({ type: 'withdraw', amount: 5 })
  // @ts-expect-error the reply is a number
  const wrong: string = await ref.ask({ type: 'balance' }, { timeoutMs: 1000 })
  void wrong
  // @ts-expect-error a timeout is required
  await ref.ask({ type: 'balance' })
  // @ts-expect-error deposit is not an ask
  await ref.ask({ type: 'deposit', amount: 1 }, { timeoutMs: 1000 })
}

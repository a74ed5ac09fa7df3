// Goal: the application client takes its input and result types from job definitions, whether
// given as values, as a type (import type), or passed to submit. `npm test` runs tsc over this
// file; every @ts-expect-error line must produce a type error, or tsc fails the suite.
import { connect } from '../../src/client/index.js'
import { defineJob } from '../../src/jobs/define.js'

const resize = defineJob('resize', async (input: { url: string; width: number }) => ({ bytes: input.url.length * input.width }))
const ping = defineJob('ping', () => 'pong')

export async function typed(): Promise<void> {
  const byValue = connect({ peers: ['http://127.0.0.1:7401'], jobs: { resize, ping } })
  const job = await byValue.submit('resize', { url: 'u', width: 1 })
  const { bytes }: { bytes: number } = await job.result()
  // @ts-expect-error the input must match the definition
  await byValue.submit('resize', { url: 'u' })
  // @ts-expect-error only the declared job types can be named
  await byValue.submit('resise', { url: 'u', width: 1 })
  const pong: string = await (await byValue.submit('ping', undefined)).result()

  const byType = connect<{ resize: typeof resize }>({ peers: ['http://127.0.0.1:7401'] })
  // @ts-expect-error the result is the definition's, not a string
  const wrong: string = await (await byType.submit('resize', { url: 'u', width: 2 })).result()

  const untyped = connect({ peers: ['http://127.0.0.1:7401'] })
  const anything: unknown = await (await untyped.submit('whatever', { any: 'input' })).result()
  const byDef: { bytes: number } = await (await untyped.submit(resize, { url: 'u', width: 3 })).result()
  // @ts-expect-error submit(def, input) checks the input too
  await untyped.submit(resize, { width: 3 })
  for await (const event of job.events()) if (event.type === 'result' && event.ok) void event.value.bytes
  void [bytes, pong, wrong, anything, byDef]
}

/**
 * Cluster entities on loopback, three peers in this process (startNode, libp2p, replicated job log):
 * - asks/s: 10,000 keys of an echo entity, asks from all three peers with a window in flight;
 * - remote ask latency: sequential asks from peer A to an entity owned by another peer, against a
 *   plain remote actor ask from A to an echo actor on that same peer, alternating A B A B in rounds;
 * - activation time of a cold key (first ask of a key never used, owner elsewhere);
 * - recovery: the owner of some keys (not the leader) stops abruptly (its network stops, no leave);
 *   the time until each of its keys answers again from another peer, max over the keys.
 * Prints one JSON object on the last line.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { defineActor, defineEntity, resolveConfig, startNode, type Ask, type RunningNode } from '../../src/index.js'
import { freePort, waitFor } from '../helpers/peers.js'
import { generateClusterSecret } from '../../src/adapters/libp2p/index.js'
import { writeFile } from 'node:fs/promises'

const KEYS = Number(process.env.KEYS ?? 10_000)
const ASKS = Number(process.env.ASKS ?? 60_000)
const WINDOW = Number(process.env.WINDOW ?? 1000)
const LATENCY_ROUNDS = 10
const LATENCY_PER_ROUND = 500
const PAYLOAD = 'x'.repeat(80)

type Echo = Ask<{ type: 'echo'; body: string }, string>
const echoEntity = defineEntity<Echo>('echo', { setup: () => ({ echo: (m) => m.body }) })
const echoActor = defineActor<Echo>({ setup: () => ({ echo: (m) => m.body }) })

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]!)
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-bench-entities-'))
  const secretFile = join(dir, 'cluster.key')
  await writeFile(secretFile, generateClusterSecret())
  const nodes: RunningNode[] = []
  for (let i = 0; i < 3; i++) {
    const flags = {
      listen: `/ip4/127.0.0.1/tcp/${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
      dataDir: join(dir, `p${i}`),
      secretFile,
      logLevel: 'error',
      ...(i === 0 ? {} : { bootstrap: nodes[0]!.addresses[0]! }),
    }
    nodes.push(await startNode(resolveConfig(flags, {}), [], [echoEntity]))
  }
  await waitFor(
    async () => nodes.map((n) => n.cluster.view()),
    (views) => views.every((v) => v?.leader !== null && v?.members.filter((m) => m.state === 'up').length === 3),
    60_000,
    'a formed cluster',
  )
  const [a] = nodes as [RunningNode, RunningNode, RunningNode]

  // Throughput: every key once to warm (activations), then ASKS asks spread over peers and keys.
  let retried = 0
  const throughput = async (count: number): Promise<number> => {
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      nodes.flatMap((node, n) =>
        Array.from({ length: WINDOW / nodes.length }, async () => {
          while (next < count) {
            const i = next++
            const ref = node.entities.get(echoEntity, `k${(i * 7 + n) % KEYS}`)
            // A key whose shard moves under the ask (EntityUnavailableError) is asked again.
            for (let attempt = 0; ; attempt++) {
              try {
                await ref.ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 30_000 })
                break
              } catch (error) {
                retried++
                if (attempt >= 20) throw error
              }
            }
          }
        }),
      ),
    )
    return count / ((performance.now() - t0) / 1000)
  }
  const warm = await throughput(KEYS * 2)
  const asksPerS = await throughput(ASKS)

  // Latency: an entity key owned by B, against an echo actor on B.
  const aOwns = new Set(a.entities.list().map((e) => e.key))
  const b = nodes[1]!
  const bKey = b.entities.list().find((e) => !aOwns.has(e.key))!.key
  b.system.spawn(echoActor, { name: 'echo' })
  const plain = a.system.ref<Echo>({ node: b.nodeId, path: '/user/echo' })
  const entity = a.entities.get(echoEntity, bKey)
  const plainUs: number[] = []
  const entityUs: number[] = []
  const measure = async (ref: typeof plain, out: number[]): Promise<void> => {
    for (let i = 0; i < LATENCY_PER_ROUND; i++) {
      const t0 = performance.now()
      await ref.ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 5000 })
      out.push((performance.now() - t0) * 1000)
    }
  }
  await measure(plain, [])
  await measure(entity, [])
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    await measure(plain, plainUs)
    await measure(entity, entityUs)
  }

  // Cold activations: first asks of unused keys, from A, of keys that end up on another peer.
  const activationMs: number[] = []
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now()
    await a.entities.get(echoEntity, `cold${i}`).ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 10_000 })
    activationMs.push(performance.now() - t0)
  }

  // Recovery: stop a non-leader owner abruptly; time until each of its keys answers again.
  const leader = a.cluster.view()!.leader!.nodeId
  const victim = nodes.find((n) => n.nodeId !== leader && n !== a) ?? nodes.find((n) => n.nodeId !== leader)!
  const asker = nodes.find((n) => n !== victim && n.nodeId !== victim.nodeId)!
  const victimKeys = victim.entities
    .list()
    .map((e) => e.key)
    .slice(0, 50)
  const killedAt = performance.now()
  // A crash: the mesh stops under the node (the libp2p adapter's stop; the Network port has none).
  await (victim.network as unknown as { stop(): Promise<void> }).stop()
  const recoveryMs = await Promise.all(
    victimKeys.map(async (key) => {
      for (;;) {
        try {
          await asker.entities.get(echoEntity, key).ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 1000 })
          return performance.now() - killedAt
        } catch {
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    }),
  )

  const result = {
    bench: 'entities',
    asks_per_s: Math.round(asksPerS),
    ask_p50_us: pct(entityUs, 0.5),
    ask_p99_us: pct(entityUs, 0.99),
    plain_ask_p50_us: pct(plainUs, 0.5),
    plain_ask_p99_us: pct(plainUs, 0.99),
    ask_p50_ratio: Math.round((pct(entityUs, 0.5) / pct(plainUs, 0.5)) * 100) / 100,
    activation_ms_p50: Math.round(pct(activationMs, 0.5) * 10) / 10,
    recovery_ms_max: Math.round(Math.max(...recoveryMs)),
    warmup_asks_per_s: Math.round(warm),
    keys: KEYS,
    recovered_keys: recoveryMs.length,
    retried_asks: retried,
  }
  for (const n of nodes) if (n !== victim) await n.stop({ timeoutMs: 2000 }).catch(() => {})
  await victim.stop({ timeoutMs: 500 }).catch(() => {})
  await rm(dir, { recursive: true, force: true })
  console.log(JSON.stringify(result))
  process.exit(0)
}

await main()

/**
 * Cluster entities on loopback.
 *
 * Default (issue 14): asks/s with three peers in separate processes (test/bench/_entities-peer.ts,
 * each a startNode with libp2p, the replicated job log and an echo entity), the asks made inside
 * every peer (WINDOW in flight over all three, over KEYS keys, after a warm-up pass activating them),
 * so requests and replies cross processes as in a real cluster. A B A B: A is BASE (a git revision,
 * default HEAD~1, extracted with git archive to a temporary directory), B this checkout, ROUNDS
 * rounds each, a fresh cluster per round; BASE=none measures only this checkout. cpu_us_per_ask sums
 * the three peers' CPU over the measured pass; framesPerAsk and writesPerAsk (per round) count the
 * mesh frames and socket writes of all peers per ask, from their /metrics: how many asks share an
 * envelope and how many envelopes a write. Prints one JSON object on the last line, with the
 * load average before and after. PEER_PROF=DIR writes a CPU profile of each B peer's measured pass
 * (only that pass: start, warm-up and stop would outweigh it) to DIR, peer-<pid>.cpuprofile; with
 * PEER_HEAP=1 an allocation profile of that pass instead (peer-<pid>.heapprofile, collected objects
 * included). DX_DIST=1 runs the peers from dist/ (`npm run build` first), so profiles name lines.
 *
 * After those rounds the default runs the in-process suite below, and its last line is the issue's:
 * asks_per_s from the separate processes (B's median), the latencies, activation and recovery from
 * the in-process suite, with inprocess_asks_per_s and the processes' summary under `processes`.
 * ONLY=processes prints the processes' summary alone.
 *
 * ONLY=inprocess runs only the older suite, with three peers in this process:
 * - asks/s: 10,000 keys of an echo entity, asks from all three peers with a window in flight;
 * - remote ask latency: sequential asks from peer A to an entity owned by another peer, against a
 *   plain remote actor ask from A to an echo actor on that same peer, alternating A B A B in rounds;
 * - activation time of a cold key (first ask of a key never used, owner elsewhere);
 * - recovery: the owner of some keys (not the leader) stops abruptly (its network stops, no leave);
 *   the time until each of its keys answers again from another peer, max over the keys.
 * ONLY=leader-change instead stops the leader abruptly after the warm-up while the other two keep
 * asking, and reports how many of the survivors' activations were kept (same key, same epoch) 6 s
 * after a new leader is known: a leader change should move only the old leader's own keys.
 * ONLY=throughput stops after the in-process asks/s pass; cpu_us_per_ask is this process's CPU time
 * over the measured asks.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { defineActor, defineEntity, resolveConfig, startNode, type Ask, type RunningNode } from '../../src/index.js'
import { freePort, waitFor } from '../helpers/peers.js'
import { generateClusterSecret } from '../../src/adapters/libp2p/index.js'
import { writeFile } from 'node:fs/promises'
import { processes } from './_entities-processes.js'

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
  const separate = process.env.ONLY === undefined || process.env.ONLY === 'processes' ? await processes() : undefined
  if (process.env.ONLY === 'processes') {
    console.log(JSON.stringify(separate))
    process.exit(0)
  }
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
  const retryErrors: Record<string, number> = {}
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
                const name = (error as Error).name ?? 'Error'
                retryErrors[name] = (retryErrors[name] ?? 0) + 1
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
  if (process.env.ONLY === 'leader-change') await leaderChange(nodes)
  const cpu0 = process.cpuUsage()
  const asksPerS = await throughput(ASKS)
  const cpu = process.cpuUsage(cpu0)
  const cpuUsPerAsk = Math.round(((cpu.user + cpu.system) / ASKS) * 10) / 10
  if (process.env.ONLY === 'throughput') {
    console.log(
      JSON.stringify({
        bench: 'entities',
        asks_per_s: Math.round(asksPerS),
        cpu_us_per_ask: cpuUsPerAsk,
        warmup_asks_per_s: Math.round(warm),
        keys: KEYS,
        retried_asks: retried,
        retry_errors: retryErrors,
      }),
    )
    process.exit(0)
  }

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
    // The headline is the separate processes' figure when they ran (the default), this process's otherwise.
    asks_per_s: separate?.asks_per_s ?? Math.round(asksPerS),
    ask_p50_us: pct(entityUs, 0.5),
    ask_p99_us: pct(entityUs, 0.99),
    plain_ask_p50_us: pct(plainUs, 0.5),
    plain_ask_p99_us: pct(plainUs, 0.99),
    ask_p50_ratio: Math.round((pct(entityUs, 0.5) / pct(plainUs, 0.5)) * 100) / 100,
    activation_ms_p50:
      pct(
        activationMs.map((ms) => ms * 1000),
        0.5,
      ) / 1000,
    recovery_ms_max: Math.round(Math.max(...recoveryMs)),
    warmup_asks_per_s: Math.round(warm),
    cpu_us_per_ask: cpuUsPerAsk,
    keys: KEYS,
    recovered_keys: recoveryMs.length,
    retried_asks: retried,
    retry_errors: retryErrors,
    inprocess_asks_per_s: Math.round(asksPerS),
    ...(separate === undefined ? {} : { processes: separate }),
  }
  for (const n of nodes) if (n !== victim) await n.stop({ timeoutMs: 2000 }).catch(() => {})
  await victim.stop({ timeoutMs: 500 }).catch(() => {})
  await rm(dir, { recursive: true, force: true })
  console.log(JSON.stringify(result))
  process.exit(0)
}

async function leaderChange(nodes: RunningNode[]): Promise<never> {
  const leaderId = nodes[0]!.cluster.view()!.leader!.nodeId
  const old = nodes.find((n) => n.nodeId === leaderId)!
  const live = nodes.filter((n) => n !== old)
  const before = new Map(live.flatMap((n) => n.entities.list().map((e) => [`${n.nodeId}|${e.key}`, e.epoch] as const)))
  let stopping = false
  let answered = 0
  let failed = 0
  const load = live.flatMap((node) =>
    Array.from({ length: Math.max(1, Math.floor(WINDOW / 3)) }, async () => {
      while (!stopping) {
        try {
          await node.entities.get(echoEntity, `k${Math.floor(Math.random() * KEYS)}`).ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 5000 })
          answered++
        } catch {
          failed++
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    }),
  )
  await new Promise((r) => setTimeout(r, 1000))
  const t0 = performance.now()
  await (old.network as unknown as { stop(): Promise<void> }).stop()
  await waitFor(
    async () => live.map((n) => n.cluster.view()?.leader?.nodeId),
    (ids) => ids.every((id) => id !== undefined && id !== leaderId),
    60_000,
    'a new leader',
  )
  const electedMs = performance.now() - t0
  await new Promise((r) => setTimeout(r, 6000))
  stopping = true
  await Promise.all(load)
  const after = new Map(live.flatMap((n) => n.entities.list().map((e) => [`${n.nodeId}|${e.key}`, e.epoch] as const)))
  let kept = 0
  for (const [id, epoch] of before) if (after.get(id) === epoch) kept++
  console.log(
    JSON.stringify({
      bench: 'entities-leader-change',
      survivor_activations: before.size,
      kept,
      kept_ratio: Math.round((kept / Math.max(1, before.size)) * 1000) / 1000,
      elected_ms: Math.round(electedMs),
      asks_answered: answered,
      asks_failed: failed,
    }),
  )
  process.exit(0)
}

await main()

/**
 * Real peers for integration tests: each is a `distributex start` child process with its own data
 * directory, listening on loopback (or inside a network namespace), watched through its HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { StatusDocument } from '../../src/node/http-api.js'
import { BIN } from './bin.js'

/** The first port of the kernel's ephemeral range, which outgoing connections draw from. */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
}

const handedOut = new Set<number>()

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free TCP port on loopback, drawn below the kernel's ephemeral range. The usual trick (listen on
 * port 0 and release) returns an ephemeral port, which any running peer's outgoing connection may
 * take before the peer it was meant for binds it: a 16-peer CI run lost a peer that way. A port is
 * handed out once per process: a port drawn but not yet bound by its peer still listens freely, and
 * 100 draws for 50 peers collide about one run in five by the birthday bound.
 */
export async function freePort(): Promise<number> {
  const low = Math.min(ephemeralLow(), 65_536)
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000))
    if (handedOut.has(port)) continue
    if (await canListen(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free port between 10000 and ${low}`)
}

/** How to start one peer. */
export interface PeerSpec {
  name: string
  dataDir: string
  secretFile: string
  /** Address to listen on for peers (default 127.0.0.1). */
  host?: string
  /** Address the HTTP endpoint binds to (default: host). */
  httpBind?: string
  /** Address the test reaches the HTTP endpoint at (default: host). */
  httpReach?: string
  p2pPort: number
  httpPort: number
  bootstrap?: string[]
  jobLog?: string
  cache?: string
  actors?: string
  /** Runs the peer inside this network namespace (as root). */
  netns?: string
  extraArgs?: string[]
  /** Flags for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** The HTTP API's token file (--http-token-file); requests then carry the token. */
  httpTokenFile?: string
  /** Working directory of the process (a separate host has its own); the test's by default. */
  cwd?: string
  /** The executable to run (another checkout's, to compare versions; default: this checkout's src/cli/bin.mjs, which runs the sources through tsx). */
  bin?: string
}

/** How long a peer may take to serve /status; DX_PEER_START_MS raises it on a loaded machine (a start compiles the sources). */
const PEER_START_MS = Number(process.env['DX_PEER_START_MS'] ?? 30_000)

/** A running peer process. */
export class Peer {
  private child: ChildProcess | undefined
  readonly output: string[] = []
  private exited: Promise<number | null> = Promise.resolve(null)

  constructor(readonly spec: PeerSpec) {}

  get httpUrl(): string {
    return `http://${this.spec.httpReach ?? this.spec.host ?? '127.0.0.1'}:${this.spec.httpPort}`
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  start(): void {
    const s = this.spec
    const host = s.host ?? '127.0.0.1'
    const args = [
      ...(s.nodeArgs ?? []),
      s.bin ?? BIN,
      'start',
      '--listen',
      `/ip4/${host}/tcp/${s.p2pPort}`,
      '--http',
      `${s.httpBind ?? host}:${s.httpPort}`,
      '--data-dir',
      s.dataDir,
      '--secret-file',
      s.secretFile,
      '--log-level',
      'warn',
    ]
    if (s.bootstrap !== undefined && s.bootstrap.length > 0) args.push('--bootstrap', s.bootstrap.join(','))
    if (s.jobLog !== undefined) args.push('--job-log', s.jobLog)
    // The test brokers are single brokers: the topic's redundancy is overridden, as the README says.
    if (s.jobLog?.startsWith('kafka://') === true && !(s.extraArgs ?? []).includes('--kafka-replication-factor'))
      args.push('--kafka-replication-factor', '1', '--kafka-min-insync-replicas', '1')
    if (s.cache !== undefined) args.push('--cache', s.cache)
    if (s.actors !== undefined) args.push('--actors', s.actors)
    if (s.httpTokenFile !== undefined) args.push('--http-token-file', s.httpTokenFile)
    args.push(...(s.extraArgs ?? []))
    const [cmd, argv] = s.netns === undefined ? [process.execPath, args] : ['ip', ['netns', 'exec', s.netns, process.execPath, ...args]]
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(s.cwd === undefined ? {} : { cwd: s.cwd }) })
    this.child = child
    const keep = (data: Buffer): void => {
      this.output.push(
        ...data
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      )
      if (this.output.length > 500) this.output.splice(0, this.output.length - 500)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  /** kill -9. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL')
    await this.exited
  }

  /** SIGTERM, then wait for the exit code. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.exited
    this.child?.kill('SIGTERM')
    return this.exited
  }

  /** Headers every request to this peer carries: its token, when it has one. */
  private headers(): Record<string, string> {
    const file = this.spec.httpTokenFile
    return file === undefined ? {} : { authorization: `Bearer ${readFileSync(file, 'utf8').trim()}` }
  }

  async status(): Promise<StatusDocument | undefined> {
    try {
      const res = await fetch(`${this.httpUrl}/status`, { headers: this.headers(), signal: AbortSignal.timeout(2000) })
      return res.ok ? ((await res.json()) as StatusDocument) : undefined
    } catch {
      return undefined
    }
  }

  /** POST/GET against the peer's HTTP API. */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const headers = { ...this.headers(), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }
    const res = await fetch(`${this.httpUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(60_000) })
    return { status: res.status, json: (await res.json()) as T }
  }

  /** The peer's own multiaddr with /p2p/<id>, once it serves /status. */
  async address(): Promise<string> {
    const status = await waitFor(
      () => this.status(),
      (s) => s !== undefined && s.addresses.length > 0,
      PEER_START_MS,
      `${this.spec.name} to serve /status`,
    )
    return status!.addresses.find((a) => a.includes(`/tcp/${this.spec.p2pPort}/`)) ?? status!.addresses[0]!
  }
}

/** Polls `probe` until `done` holds or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)?.slice(0, 2000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The leader every running peer agrees on, with its epoch, or undefined. */
export async function agreedLeader(peers: Peer[]): Promise<{ nodeId: string; epoch: number } | undefined> {
  const statuses = await Promise.all(peers.filter((p) => p.running).map((p) => p.status()))
  if (statuses.some((s) => s?.leader === null || s === undefined)) return undefined
  const leaders = new Set(statuses.map((s) => `${s!.leader!.nodeId}@${s!.leader!.epoch}`))
  if (leaders.size !== 1) return undefined
  const up = statuses.every((s) => s!.members.filter((m) => m.state === 'up').length === statuses.length)
  return up ? statuses[0]!.leader! : undefined
}

/**
 * The agreed leader once the cluster survives losing it: in every running peer's view, `voters`
 * voters are up and each has its addresses known (so the others can still reach one another).
 * A peer becomes a voter a second or two after it joins, and the voters learn each other's
 * addresses a record later; a leader killed before that leaves a minority, which cannot elect.
 */
export async function quorumBeyondLeader(peers: Peer[], voters: number): Promise<{ nodeId: string; epoch: number } | undefined> {
  const leader = await agreedLeader(peers)
  if (leader === undefined) return undefined
  const statuses = await Promise.all(peers.filter((p) => p.running).map((p) => p.status()))
  const ready = statuses.every(
    (s) => s !== undefined && s.members.filter((m) => m.voter === true && m.state === 'up' && Array.isArray(m.addresses) && m.addresses.length > 0).length >= voters,
  )
  return ready ? leader : undefined
}

/**
 * The spec of peer `i` of a cluster under `dir`, as the benches and startCluster lay it out: its
 * data in `dir`/p<i>, the secret in `dir`/cluster.key, free ports.
 */
export async function clusterPeerSpec(dir: string, i: number, bootstrap: string[] = []): Promise<PeerSpec> {
  return { name: `p${i}`, dataDir: join(dir, `p${i}`), secretFile: join(dir, 'cluster.key'), p2pPort: await freePort(), httpPort: await freePort(), bootstrap }
}

/**
 * Starts `count` CLI peers under `dir` (`p0`, `p1`, ... with a fresh cluster secret), the others
 * bootstrapping from the first, and waits until they agree on a leader with every member `up`.
 * The peers are pushed to `into` as they start, so the caller's cleanup sees them even on failure.
 */
export async function startCluster(dir: string, count: number, into: Peer[], extra: Partial<PeerSpec> = {}): Promise<Peer[]> {
  const secretFile = join(dir, 'cluster.key')
  await new Promise<void>((resolve, reject) =>
    spawn(process.execPath, [BIN, 'secret', '--out', secretFile], { stdio: 'ignore' }).once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`secret exited ${code}`)),
    ),
  )
  for (let i = 0; i < count; i++) {
    mkdirSync(join(dir, `p${i}`))
    const peer = new Peer({ ...(await clusterPeerSpec(dir, i, i === 0 ? [] : [await into[0]!.address()])), ...extra })
    into.push(peer)
    peer.start()
  }
  await waitFor(
    () => agreedLeader(into),
    (l) => l !== undefined,
    120_000,
    'a leader',
  )
  await waitFor(
    () => Promise.all(into.map((p) => p.status())),
    (all) => all.every((s) => s !== undefined && s.members.filter((m) => m.state === 'up').length === count),
    120_000,
    `${count} members up`,
  )
  return into
}

/**
 * The campaign's faults beyond process signals, for peers on separate hosts (network namespaces,
 * test/helpers/netns.ts): partitions and packet loss with nftables inside each namespace, and a
 * disk that fills (each peer's data directory lives on a small tmpfs, filled by one file and emptied
 * on heal). Each kind of fault has its own nftables table, so healing one never heals another.
 *
 * Added latency is not injected: this machine's kernel has no sch_netem (tc netem), and nftables
 * cannot delay packets.
 */
import { execFileSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Host } from '../helpers/netns.js'

/** The nftables tables the campaign uses: one per kind of fault. */
export type RuleTable = 'dxpart' | 'dxoneway' | 'dxloss'

/** True when nftables can be used (installed, and this process may enter namespaces). */
export function canUseNft(): boolean {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
    return process.getuid?.() === 0
  } catch {
    return false
  }
}

function nft(host: Host, script: string): void {
  execFileSync('ip', ['netns', 'exec', host.ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] })
}

/** Drops, at `host`, packets that match `rule` (an nftables expression) arriving from the data network. */
function dropInput(host: Host, table: RuleTable, rule: string): void {
  nft(host, `table inet ${table} {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ${rule} drop\n }\n}\n`)
}

/** `host` stops hearing the data network addresses in `from` (a cut one way; call for both sides to cut both). */
export function dropFrom(host: Host, table: RuleTable, from: readonly Host[]): void {
  if (from.length === 0) return
  dropInput(host, table, `ip saddr { ${from.map((h) => h.dataIp).join(', ')} }`)
}

/** `host` loses `percent` of the packets it receives from the data network. */
export function loseAt(host: Host, percent: number): void {
  dropInput(host, 'dxloss', `ip saddr 10.0.0.0/8 numgen random mod 100 < ${Math.round(percent)}`)
}

/** Removes a table's rules at `host`; harmless when there are none. */
export function clearRules(host: Host, table: RuleTable): void {
  try {
    nft(host, `delete table inet ${table}\n`)
  } catch {
    // not there
  }
}

const FILLER = 'chaos-filler'

/** Mounts a tmpfs of `mb` MiB at `dir` (an existing, empty directory). */
export function mountDisk(dir: string, mb: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m,mode=0700`, 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Unmounts a tmpfs mounted by mountDisk; harmless when it is not mounted. */
export function unmountDisk(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' })
  } catch {
    // not mounted
  }
}

/** Fills the tmpfs at `dir` to the last byte with one file (so every write there fails with ENOSPC). */
export function fillDisk(dir: string): void {
  const free = Number(execFileSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).trim().split('\n').pop())
  try {
    execFileSync('fallocate', ['-l', String(free), join(dir, FILLER)], { stdio: 'ignore' })
  } catch {
    // Already full (or nearly): what was allocated stays, which is what the fault wants.
  }
}

/** Removes the filler: the disk has room again. */
export async function emptyDisk(dir: string): Promise<void> {
  await rm(join(dir, FILLER), { force: true })
}

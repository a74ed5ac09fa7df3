/** What Linux's /proc says of a process the benches started: its CPU time and resident memory. */
import { readFileSync } from 'node:fs'

/** Clock ticks per second in /proc/PID/stat (USER_HZ). */
const TICKS = 100

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS
}

/** Resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
}

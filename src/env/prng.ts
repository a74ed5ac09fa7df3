/**
 * A small seeded PRNG (xoshiro128**) with label-derived streams.
 *
 * Streams are derived from a stream's own seed and a label, never from how much of the parent was
 * consumed, so adding draws to one stream leaves every other stream's sequence unchanged. The
 * simulator relies on this to shrink a fault schedule without disturbing the workload.
 */
import type { Random } from './types.js'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** 32-bit FNV-1a over a string, used to fold labels into seeds. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** splitmix32: spreads a 32-bit value into a well-mixed one; used to expand seeds into state. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0
  let z = x
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
  return (z ^ (z >>> 16)) >>> 0
}

/** Expands any seed (a number or a string) into four non-zero state words. */
export function seedWords(seed: number | string): [number, number, number, number] {
  let x = typeof seed === 'number' ? hash32(String(seed)) : hash32(seed)
  const words: [number, number, number, number] = [0, 0, 0, 0]
  for (let i = 0; i < 4; i++) {
    x = splitmix32(x + i)
    words[i] = x
  }
  if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1
  return words
}

/** A deterministic Random: the same seed yields the same sequence in every process. */
export class SeededRandom implements Random {
  private a: number
  private b: number
  private c: number
  private d: number
  private readonly seedKey: string

  constructor(seed: number | string) {
    this.seedKey = String(seed)
    const [a, b, c, d] = seedWords(seed)
    this.a = a
    this.b = b
    this.c = c
    this.d = d
  }

  /** The next 32-bit unsigned integer. */
  next32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  next(): number {
    return this.next32() / 4294967296
  }

  int(lo: number, hi: number): number {
    if (!(hi >= lo)) throw new RangeError(`int(${lo}, ${hi}): empty range`)
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      let w = this.next32()
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = w & 0xff
        w >>>= 8
      }
    }
    return out
  }

  id(): string {
    let s = ''
    for (let i = 0; i < 4; i++) {
      const w = this.next32()
      s += HEX[w >>> 24]! + HEX[(w >>> 16) & 0xff]! + HEX[(w >>> 8) & 0xff]! + HEX[w & 0xff]!
    }
    return s
  }

  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.seedKey}/${label}`)
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

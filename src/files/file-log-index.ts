/**
 * The in-memory index of the file job log: for each records frame, its first offset and where it
 * sits in the file, so a read finds its first frame by binary search and reads only the bytes it
 * needs. Typed arrays keep it at 20 bytes per append (not per record), growing by doubling.
 *
 * Invariant: frames are added in file order with contiguous offsets, so first offsets and file
 * positions both strictly increase.
 */
import { assert } from '../assert.js'

const INITIAL_FRAMES = 1024

export class FrameIndex {
  private first = new Float64Array(INITIAL_FRAMES)
  private position = new Float64Array(INITIAL_FRAMES)
  private bytes = new Uint32Array(INITIAL_FRAMES)
  private frames = 0
  private start = 0
  private next = 0

  /** The number of indexed frames. */
  get length(): number {
    return this.frames
  }

  /** One past the last indexed offset. */
  get endOffset(): number {
    return this.next
  }

  /** The first offset held: records below it were compacted away. */
  get startOffset(): number {
    return this.start
  }

  /** Makes an empty index begin at `offset` (a compacted log's first offset). */
  startAt(offset: number): void {
    assert(this.frames === 0, 'only an empty index can move its start')
    this.start = offset
    this.next = offset
  }

  /** Indexes a records frame holding offsets [firstOffset, firstOffset + count). */
  add(firstOffset: number, count: number, position: number, frameBytes: number): void {
    assert(firstOffset === this.next, `frame starts at offset ${firstOffset}, expected ${this.next}`)
    assert(count >= 1, 'a records frame holds at least one record')
    if (this.frames > 0) assert(position > this.position[this.frames - 1]!, 'frames are indexed in file order')
    if (this.frames === this.first.length) this.grow()
    this.first[this.frames] = firstOffset
    this.position[this.frames] = position
    this.bytes[this.frames] = frameBytes
    this.frames++
    this.next = firstOffset + count
  }

  /** The index of the frame holding `offset`, which must be in [startOffset, endOffset). */
  frameOf(offset: number): number {
    assert(offset >= this.start && offset < this.next, `offset ${offset} is outside [${this.start}, ${this.next})`)
    let lo = 0
    let hi = this.frames - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.first[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  firstOffsetOf(frame: number): number {
    return this.first[frame]!
  }

  positionOf(frame: number): number {
    return this.position[frame]!
  }

  /** One past the last offset of `frame`. */
  endOffsetOf(frame: number): number {
    return frame + 1 < this.frames ? this.first[frame + 1]! : this.next
  }

  /** The file position just past `frame`. */
  endPositionOf(frame: number): number {
    return this.position[frame]! + this.bytes[frame]!
  }

  private grow(): void {
    const size = this.first.length * 2
    const first = new Float64Array(size)
    const position = new Float64Array(size)
    const bytes = new Uint32Array(size)
    first.set(this.first)
    position.set(this.position)
    bytes.set(this.bytes)
    this.first = first
    this.position = position
    this.bytes = bytes
  }
}

/**
 * Reading kafkajs errors. kafkajs wraps the broker's error in retry and non-retriable wrappers
 * (`originalError`, `cause`), so every test here walks that chain, to a fixed depth.
 */

const CHAIN_MAX_DEPTH = 8

/** Broker error codes: INVALID_PRODUCER_EPOCH (47, what kafkajs's request versions get) and PRODUCER_FENCED (90, newer versions). */
const FENCED_CODES = new Set([47, 90])
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED'])
/** Broker error codes meaning the client's metadata is stale: UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH. */
const STALE_METADATA_CODES = new Set([3, 5, 6, 74, 75])
const OFFSET_OUT_OF_RANGE = 1

interface ErrorLike {
  readonly name?: unknown
  readonly type?: unknown
  readonly code?: unknown
  readonly originalError?: unknown
  readonly cause?: unknown
}

function* chain(error: unknown): Generator<ErrorLike> {
  let current = error
  for (let depth = 0; depth < CHAIN_MAX_DEPTH && typeof current === 'object' && current !== null; depth++) {
    const link = current as ErrorLike
    yield link
    current = link.originalError ?? link.cause
  }
}

function some(error: unknown, test: (link: ErrorLike) => boolean): boolean {
  for (const link of chain(error)) if (test(link)) return true
  return false
}

/** True when a newer producer with our transactional id has fenced this one. */
export function isProducerFenced(error: unknown): boolean {
  return some(error, (e) => (typeof e.type === 'string' && FENCED_TYPES.has(e.type)) || (typeof e.code === 'number' && FENCED_CODES.has(e.code)))
}

/** True when the client should refresh metadata and try again (leader moved, topic just created). */
export function isStaleMetadata(error: unknown): boolean {
  return some(error, (e) => (typeof e.code === 'number' && STALE_METADATA_CODES.has(e.code)) || e.name === 'KafkaJSTopicMetadataNotLoaded' || e.name === 'KafkaJSBrokerNotFound')
}

export function isOffsetOutOfRange(error: unknown): boolean {
  return some(error, (e) => e.code === OFFSET_OUT_OF_RANGE || e.name === 'KafkaJSOffsetOutOfRange')
}

/** The innermost message of the chain, for error messages. */
export function rootMessage(error: unknown): string {
  let message = String(error)
  for (const link of chain(error)) if (link instanceof Error) message = `${link.name}: ${link.message}`
  return message
}

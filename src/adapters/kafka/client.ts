/**
 * Builds the kafkajs clients of one job log (the public client for the admin and the producer,
 * the internal cluster for reads), all with the same bounded timeouts and retries, and with
 * kafkajs's log lines sent to the runtime's logger.
 */
import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs'
import type { Logger } from '../../env/types.js'
import { createInternalCluster, type InternalCluster, type KafkaLogFunction } from './kafkajs-internals.js'
import type { ResolvedKafkaJobLogInit } from './options.js'

/**
 * We cap the transactional producer's retries so calls stay bounded, and kafkajs warns that this
 * may break exactly-once. It does not here: after any failed transaction the producer is thrown
 * away and a new one re-initialises the transactional id, which aborts whatever was left open.
 */
const EXPECTED_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees'

/** kafkajs's errors are also returned to our callers as typed errors, so they log as warnings. */
function bridge(logger: Logger): (level: number) => KafkaLogFunction {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log
      if (message === EXPECTED_WARNING) return
      const line = `kafkajs ${namespace}: ${message}`
      if (level <= KafkaLogLevel.WARN) logger.warn(line, fields)
      else logger.debug(line, fields)
    }
}

/** TLS and SASL, when configured (kafkajs treats a present `ssl: undefined` like absent). */
const security = (init: ResolvedKafkaJobLogInit) => ({ ...(init.ssl === undefined ? {} : { ssl: init.ssl }), ...(init.sasl === undefined ? {} : { sasl: init.sasl }) })

const retryOf = (init: ResolvedKafkaJobLogInit) => ({ retries: init.retries, initialRetryTime: 100, maxRetryTime: 1000 })

export function createKafka(init: ResolvedKafkaJobLogInit, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: init.brokers,
    ...security(init),
    connectionTimeout: init.connectionTimeoutMs,
    requestTimeout: init.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: retryOf(init),
    logLevel: KafkaLogLevel.WARN,
    logCreator: bridge(init.env.logger) as logCreator,
  })
}

export function createReaderCluster(init: ResolvedKafkaJobLogInit, clientId: string): InternalCluster {
  return createInternalCluster({
    brokers: init.brokers,
    clientId,
    ...security(init),
    connectionTimeout: init.connectionTimeoutMs,
    requestTimeout: init.requestTimeoutMs,
    retry: retryOf(init),
    logLevel: KafkaLogLevel.WARN,
    logCreator: bridge(init.env.logger),
  })
}

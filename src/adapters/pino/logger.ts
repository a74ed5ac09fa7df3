/**
 * The Logger port on pino: JSON lines for machines, or pino-pretty's readable lines for a person at
 * a terminal. Writes are synchronous, so the lines a crashing peer wrote last are on stderr.
 *
 * Secrets never reach a log line: fields whose name says they hold one (secret, token, password,
 * authorization, cookie, key material), at the top level or one level down, are replaced by
 * `[redacted]`, whatever code logged them. Errors keep their name, code and message (and the
 * stack at debug level), as the JSON logger of the simulator does.
 */
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { pino, type DestinationStream, type Logger as Pino } from 'pino'
import type { LogLevel } from '../../env/logger.js'
import type { LogFields, Logger } from '../../env/types.js'

/** How lines look: JSON objects, or pino-pretty's coloured text. */
export type LogFormat = 'json' | 'pretty'

export interface PinoLoggerInit {
  level: Exclude<LogLevel, 'silent'> | 'silent'
  format: LogFormat
  /** Where lines go; stderr (fd 2) by default. */
  write?: (line: string) => void
  /** Colours in pretty mode; by default when stderr is a terminal. */
  colorize?: boolean
}

/** Field names whose values are secrets, redacted at the top level and one level down. */
const SECRET_FIELDS = ['secret', 'secretFile', 'token', 'httpToken', 'password', 'passphrase', 'authorization', 'cookie', 'privateKey', 'apiKey', 'sasl']

export const REDACTED = '[redacted]'

/** Creates a Logger writing through pino. */
export function pinoLogger(init: PinoLoggerInit): Logger {
  const debug = init.level === 'debug'
  const sink: DestinationStream = init.write === undefined ? pino.destination({ dest: 2, sync: true }) : lineStream(init.write)
  // pino-pretty (30 modules) is loaded only for pretty output: peers log JSON, and start-up CPU is what limits how fast many of them start on one host.
  const stream =
    init.format === 'pretty'
      ? (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty'))({
          destination: sink,
          sync: true,
          colorize: init.colorize ?? process.stderr.isTTY === true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        })
      : sink
  const base = pino(
    {
      level: init.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]), censor: REDACTED },
      serializers: { error: (e: unknown) => serializeError(e, debug), cause: (e: unknown) => serializeError(e, debug) },
    },
    stream,
  )
  return new PinoLogger(base)
}

class PinoLogger implements Logger {
  constructor(private readonly pino: Pino) {}

  debug(message: string, fields?: LogFields): void {
    this.pino.debug(fields ?? {}, message)
  }

  info(message: string, fields?: LogFields): void {
    this.pino.info(fields ?? {}, message)
  }

  warn(message: string, fields?: LogFields): void {
    this.pino.warn(fields ?? {}, message)
  }

  error(message: string, fields?: LogFields): void {
    this.pino.error(fields ?? {}, message)
  }

  child(bindings: LogFields): Logger {
    return new PinoLogger(this.pino.child(bindings))
  }
}

function serializeError(value: unknown, withStack: boolean): unknown {
  if (!(value instanceof Error)) return value
  const code = (value as { code?: unknown }).code
  return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }), ...(withStack && value.stack !== undefined ? { stack: value.stack } : {}) }
}

/** A synchronous stream handing each chunk to `write` (pino writes whole lines). */
function lineStream(write: (line: string) => void): DestinationStream {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      write(chunk.toString())
      done()
    },
  })
}

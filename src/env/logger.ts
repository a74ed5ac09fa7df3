/** Structured loggers: JSON lines for machines, and an in-memory capture for tests. */
import type { Clock, LogFields, Logger } from './types.js'

/** Severity levels, in increasing order. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

/** One captured log line. */
export interface LogRecord {
  level: Exclude<LogLevel, 'silent'>
  message: string
  fields: LogFields
}

/** Writes one JSON object per line to `sink`, stamped with the environment's wall clock. */
export class JsonLogger implements Logger {
  constructor(
    private readonly sink: (line: string) => void,
    private readonly clock: Clock,
    private readonly level: LogLevel = 'info',
    private readonly bindings: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields)
  }

  child(bindings: LogFields): Logger {
    return new JsonLogger(this.sink, this.clock, this.level, { ...this.bindings, ...bindings })
  }

  private write(level: Exclude<LogLevel, 'silent'>, message: string, fields: LogFields | undefined): void {
    if (RANK[level] < RANK[this.level]) return
    const record = { t: this.clock.wallMs(), level, msg: message, ...this.bindings, ...fields }
    this.sink(JSON.stringify(record, errorReplacer) + '\n')
  }
}

/** Keeps log records in memory so tests can assert on what was logged. */
export class MemoryLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly bindings: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.records.push({ level: 'debug', message, fields: { ...this.bindings, ...fields } })
  }

  info(message: string, fields?: LogFields): void {
    this.records.push({ level: 'info', message, fields: { ...this.bindings, ...fields } })
  }

  warn(message: string, fields?: LogFields): void {
    this.records.push({ level: 'warn', message, fields: { ...this.bindings, ...fields } })
  }

  error(message: string, fields?: LogFields): void {
    this.records.push({ level: 'error', message, fields: { ...this.bindings, ...fields } })
  }

  child(bindings: LogFields): Logger {
    return new MemoryLogger(this.records, { ...this.bindings, ...bindings })
  }
}

/** Serializes Error values (which JSON.stringify renders as `{}`) with their name, code and message. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) }
  }
  if (typeof value === 'bigint') return value.toString()
  return value
}

/**
 * Structured logs: one JSON object per line, `event` names what happened
 * (`nats.reconnect`, `task.redelivered`, ...), so operators can grep and ship them.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Errors do not survive JSON.stringify; keep name, message and the cause chain. */
export function errorFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: LogFields = { name: err.name, message: err.message };
  if (err.cause !== undefined) out.cause = errorFields(err.cause);
  return out;
}

function serialise(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? errorFields(v) : v;
  return out;
}

/** stdout on Node; `console.log` where there is no `process` (Workers), which its log tail collects. */
const defaultWrite = (line: string): void => {
  const stdout = (globalThis as { process?: { stdout?: { write(s: string): unknown } } }).process?.stdout;
  if (stdout) stdout.write(line + '\n');
  else console.log(line);
};

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
}

export function createLogger(base: LogFields = {}, opts: LoggerOptions = {}): Logger {
  const min = LEVELS[opts.level ?? 'info'];
  const write = opts.write ?? defaultWrite;
  const emit =
    (level: LogLevel) =>
    (event: string, fields: LogFields = {}) => {
      if (LEVELS[level] < min) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, event, ...base, ...serialise(fields) }));
    };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger({ ...base, ...fields }, opts),
  };
}

/** For tests and library defaults: drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** What a tee hands on: each line's level, event and every field (the child fields included). */
export type LogTap = (level: LogLevel, event: string, fields: LogFields) => void;

/**
 * `inner`, plus every line from `min` up handed to `tap` with the fields of its children
 * merged in (a trainer forwards its job-scoped lines to the job's log this way). A tap
 * that throws loses its line, never the caller's.
 */
export function teeLogger(inner: Logger, tap: LogTap, min: LogLevel = 'info', bound: LogFields = {}): Logger {
  const emit =
    (level: LogLevel) =>
    (event: string, fields: LogFields = {}) => {
      inner[level](event, fields);
      if (LEVELS[level] < LEVELS[min]) return;
      try {
        tap(level, event, { ...bound, ...fields });
      } catch {
        // A log line must never break the work it describes.
      }
    };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => teeLogger(inner.child(fields), tap, min, { ...bound, ...fields }),
  };
}

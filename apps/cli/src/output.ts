import { Progress } from './progress.js';

/**
 * Where the CLI writes. Results go to stdout (the table, or JSON lines with --json);
 * everything for the human watching (progress, notes) goes to stderr.
 */
export interface Output {
  json: boolean;
  /** A result line on stdout. */
  result(line: string): void;
  /** A note for the human on stderr. */
  info(line: string): void;
  progress: Progress;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export function createOutput(json: boolean, streams: Streams = process): Output {
  const progress = new Progress(streams.stderr, {
    tty: Boolean(streams.stderr.isTTY),
    columns: streams.stderr.columns,
  });
  return {
    json,
    progress,
    result: (line) => {
      progress.clear();
      streams.stdout.write(line + '\n');
    },
    info: (line) => {
      progress.clear();
      streams.stderr.write(line + '\n');
    },
  };
}

/** An error meant for the user: printed as one line, no stack, with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Bad flags or arguments (exit code 2, like most Unix tools). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

import { basename } from 'node:path';

/** Base class of every failure this package reports about a dataset; `file` is the path concerned. */
export class DatasetError extends Error {
  override readonly name: string = 'DatasetError';
  constructor(
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A dataset file that is not what its header or its role says it should be. */
export class IdxFormatError extends DatasetError {
  override readonly name = 'IdxFormatError';
  /** The message names the file by basename, as users know the files by those names. */
  constructor(
    file: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(file, `${basename(file)}: ${problem}`, options);
  }
}

/** The dataset folder, or one of its four files, is not there; `lookedFor` lists the paths tried. */
export class DatasetNotFoundError extends DatasetError {
  override readonly name = 'DatasetNotFoundError';
  constructor(
    file: string,
    readonly lookedFor: readonly string[],
    message: string,
  ) {
    super(file, message);
  }
}

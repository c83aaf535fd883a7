/** One thing wrong with a request (400s): where, and what. */
export interface ErrorIssue {
  path: string;
  message: string;
}

/** Every error response of the API: a message, and for 400s the list of what is wrong. */
export interface ErrorBody {
  error: string;
  issues?: ErrorIssue[];
  /** On 5xx: quote it when reporting the problem; the server log has the details. */
  requestId?: string;
}

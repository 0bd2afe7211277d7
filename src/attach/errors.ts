/**
 * An attach that cannot start because of what it was asked or what it found:
 * no such process, not a Node.js process, an inspector that does not answer,
 * a host that is not loopback, a bad number. The CLI prints the message (one
 * line) and exits 2.
 */
export class AttachInputError extends Error {
  override readonly name = 'AttachInputError';
}

/** The inspector connection went away (the target exited, or someone closed its inspector). */
export class InspectorDisconnectedError extends Error {
  override readonly name = 'InspectorDisconnectedError';
}

/** A DevTools protocol call got no answer in time. */
export class InspectorTimeoutError extends Error {
  override readonly name = 'InspectorTimeoutError';
}

/** A DevTools protocol call answered with an error. */
export class InspectorProtocolError extends Error {
  override readonly name = 'InspectorProtocolError';
  constructor(
    readonly method: string,
    readonly code: number | undefined,
    message: string,
  ) {
    super(`${method}: ${message}`);
  }
}

// The request messages of one call, between the protocol that reads them off
// the connection and the handler that takes them. It holds at most a few
// messages: past HIGH_WATER the protocol is told to stop reading (HTTP/2
// flow control then holds the client back), and to read again once the
// handler has caught up.
import type { Envelope } from "./envelope";

const HIGH_WATER = 16;

export interface QueueFlow {
  pause(): void;
  resume(): void;
}

export class RequestQueue {
  private readonly buffered: Envelope[] = [];
  private ended = false;
  private failure: Error | undefined;
  private waiter:
    { readonly resolve: (envelope: Envelope | undefined) => void; readonly reject: (error: Error) => void } | undefined;
  private paused = false;
  /** Messages pushed so far. */
  count = 0;

  constructor(private readonly flow: QueueFlow) {}

  /** A message arrived. */
  push(envelope: Envelope): void {
    if (this.ended || this.failure !== undefined) return;
    this.count += 1;
    if (this.waiter !== undefined) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(envelope);
      return;
    }
    this.buffered.push(envelope);
    if (this.buffered.length >= HIGH_WATER && !this.paused) {
      this.paused = true;
      this.flow.pause();
    }
  }

  /** The client half-closed: no message follows. */
  end(): void {
    if (this.ended || this.failure !== undefined) return;
    this.ended = true;
    if (this.waiter !== undefined && this.buffered.length === 0) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(undefined);
    }
  }

  /** Reading stopped for good (the call ended or the stream broke): the next take rejects with `error`. */
  fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.buffered.length = 0;
    if (this.waiter !== undefined) {
      const { reject } = this.waiter;
      this.waiter = undefined;
      reject(error);
    }
  }

  /** The next message, or undefined once the client half-closed and every message was taken. */
  take(): Promise<Envelope | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const next = this.buffered.shift();
    if (next !== undefined) {
      if (this.paused && this.buffered.length < HIGH_WATER / 2) {
        this.paused = false;
        this.flow.resume();
      }
      return Promise.resolve(next);
    }
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

// A call's scope: one signal for cancel, deadline and shutdown, each with the
// status that says which; a held write keeps DEADLINE_EXCEEDED back until it
// has decided; a scope is settled once its status went out and no handler runs.
import { ServerError, Status } from "nice-grpc-common";
import { CallScope } from "../../src/transport/call-scope";

const METHOD = { path: "/p.S/M", requestStream: false, responseStream: false };

function scope(deadlineInMs?: number) {
  const ended: [Status, string][] = [];
  const made = new CallScope({
    requestId: "r-1",
    method: METHOD,
    peer: "127.0.0.1:1",
    deadline: deadlineInMs === undefined ? undefined : Date.now() + deadlineInMs,
    endCall: (code, details) => {
      ended.push([code, details]);
      made.statusSent(code);
    },
  });
  return { scope: made, ended };
}

const reason = (call: CallScope) => call.signal.reason as ServerError;

describe("CallScope", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test("the deadline aborts the signal and answers DEADLINE_EXCEEDED", () => {
    const { scope: call, ended } = scope(100);
    expect(call.remainingMs()).toBe(100);
    jest.advanceTimersByTime(100);
    expect(reason(call)).toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    expect(ended).toEqual([[Status.DEADLINE_EXCEEDED, "deadline exceeded"]]);
    expect(call.remainingMs()).toBe(0);
  });

  test("a deadline past 2^31-1 ms is kept whole", () => {
    const { ended } = scope(30 * 24 * 3_600_000);
    jest.advanceTimersByTime(2 ** 31);
    expect(ended).toEqual([]);
    jest.advanceTimersByTime(30 * 24 * 3_600_000 - 2 ** 31);
    expect(ended).toEqual([[Status.DEADLINE_EXCEEDED, "deadline exceeded"]]);
  });

  test("a held write holds DEADLINE_EXCEEDED back while it decides, though its signal aborts", async () => {
    const { scope: call, ended } = scope(100);
    let finishWrite: (value: string) => void = () => undefined;
    const write = call.holdDeadlineFor(() => new Promise<string>((resolve) => (finishWrite = resolve)));
    jest.advanceTimersByTime(100);
    expect(call.signal.aborted).toBe(true);
    expect(ended).toEqual([]);
    finishWrite("committed");
    await expect(write).resolves.toBe("committed");
  });

  test("a write is not started once the signal has aborted", async () => {
    const { scope: call } = scope(10);
    jest.advanceTimersByTime(10);
    const work = jest.fn(() => Promise.resolve());
    await expect(call.holdDeadlineFor(work)).rejects.toBeInstanceOf(ServerError);
    expect(work).not.toHaveBeenCalled();
  });

  test("shutdown ends the call UNAVAILABLE; a client that went away CANCELLED", () => {
    const first = scope();
    first.scope.shutDown();
    expect(reason(first.scope)).toMatchObject({ code: Status.UNAVAILABLE });
    expect(first.ended).toEqual([[Status.UNAVAILABLE, "server shutting down"]]);

    const second = scope();
    second.scope.cancelled();
    expect(reason(second.scope)).toMatchObject({ code: Status.CANCELLED });
    expect(second.scope.code).toBe(Status.CANCELLED);
    expect(second.ended).toEqual([]);
  });

  test("the first status counts; the timer stops with it", () => {
    const { scope: call, ended } = scope(100);
    call.end(Status.NOT_FOUND, "nope");
    call.end(Status.OK, "");
    jest.advanceTimersByTime(1_000);
    expect(ended).toEqual([[Status.NOT_FOUND, "nope"]]);
    expect(call.signal.aborted).toBe(false);
  });

  test("a failed status aborts a handler still running, and the scope settles when it finishes", () => {
    const { scope: call } = scope();
    const settled = jest.fn();
    call.handlerStarted();
    call.onSettled(settled);
    call.end(Status.INTERNAL, "broken");
    expect(reason(call)).toMatchObject({ code: Status.CANCELLED });
    expect(settled).not.toHaveBeenCalled();
    call.handlerFinished();
    expect(settled).toHaveBeenCalledTimes(1);
    expect(call.settled).toBe(true);
  });
});

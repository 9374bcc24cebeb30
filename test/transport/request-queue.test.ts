// A call's request messages wait in a short queue: the protocol is told to
// stop reading when the handler falls behind, and to read again once it has
// caught up; the end of the stream and its failure reach the handler in order.
import { RequestQueue } from "../../src/transport/request-queue";

const message = (n: number) => ({ flags: 0, data: Buffer.from([n]) });

function queue() {
  const flow = { paused: 0, resumed: 0 };
  const requests = new RequestQueue({ pause: () => (flow.paused += 1), resume: () => (flow.resumed += 1) });
  return { requests, flow };
}

describe("RequestQueue", () => {
  test("hands messages over in order, then undefined once the client half-closed", async () => {
    const { requests } = queue();
    requests.push(message(1));
    const second = requests.take().then(() => requests.take());
    requests.push(message(2));
    requests.end();
    expect((await requests.take())?.data[0]).toBe(2);
    await second;
    await expect(requests.take()).resolves.toBeUndefined();
    expect(requests.count).toBe(2);
  });

  test("a waiting take gets the next message", async () => {
    const { requests } = queue();
    const next = requests.take();
    requests.push(message(9));
    expect((await next)?.data[0]).toBe(9);
  });

  test("pauses reading at 16 buffered messages and resumes below 8", async () => {
    const { requests, flow } = queue();
    for (let i = 0; i < 20; i += 1) requests.push(message(i));
    expect(flow).toEqual({ paused: 1, resumed: 0 });
    for (let i = 0; i < 12; i += 1) await requests.take();
    expect(flow).toEqual({ paused: 1, resumed: 0 });
    await requests.take();
    expect(flow).toEqual({ paused: 1, resumed: 1 });
  });

  test("a failure rejects the waiting take and every later one, and drops what was buffered", async () => {
    const { requests } = queue();
    const waiting = requests.take();
    const error = new Error("call ended");
    requests.fail(error);
    await expect(waiting).rejects.toBe(error);
    requests.push(message(1));
    await expect(requests.take()).rejects.toBe(error);
  });
});

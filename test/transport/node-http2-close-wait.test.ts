// Node's own HTTP/2, without this project's transport: after a header block
// it refuses (100 kB) and the client's FIN, does it close the socket? Node 20
// does not (CLOSE-WAIT for good); Node 22 and 24 do. The transport works
// around it where it happens (src/transport/node20-http2-close-wait.ts); when
// this test shows every supported Node releasing the socket, that file can go.
import http2 from "node:http2";
import net, { type Socket } from "node:net";
import { HTTP2_LEAVES_CLOSE_WAIT } from "../../src/transport/node20-http2-close-wait";
import { rawHeadersConnection } from "../support/raw-grpc";
import { until } from "../support/wait";

test(`Node ${process.version} ${HTTP2_LEAVES_CLOSE_WAIT ? "leaves" : "does not leave"} a refused connection in CLOSE-WAIT`, async () => {
  const accepted: Socket[] = [];
  const server = net.createServer((socket) => {
    accepted.push(socket);
    http2.performServerHandshake(socket).on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const client = await rawHeadersConnection(port, "/p.S/M", { authorization: `Bearer ${"a".repeat(100_000)}` });
    client.end();
    // Node 22+ closes it at once; 2 s is how long Node 20 is given to prove it never does.
    const released = await until(() => accepted[0]?.destroyed === true, 2_000).then(
      () => true,
      () => false,
    );
    expect(released).toBe(!HTTP2_LEAVES_CLOSE_WAIT);
  } finally {
    for (const socket of accepted) socket.destroy();
    server.close();
  }
});

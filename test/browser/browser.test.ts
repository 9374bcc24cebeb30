// A real browser calls the service: headless Chromium (Debian's package,
// driven by playwright-core) loads a page served over HTTPS from another
// origin, which calls ProductService with @connectrpc/connect-web over the
// Connect protocol and gRPC-Web, on HTTP/2 (what ALPN picks) and HTTP/1.1.
// The server allows the page's origin (CORS) and nothing else.
import { existsSync, readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { SCOPES } from "../../src/auth/scopes";
import { makeCertificates } from "../support/certificates";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { startTestServer, testToken, type TestServer } from "../support/server";
import { bundlePage } from "./bundle";

const CHROMIUM = "/usr/bin/chromium";
// CI installs Debian's chromium (.ci/run); elsewhere the test says why it did not run.
const describeWithChromium = existsSync(CHROMIUM) ? describe : describe.skip;
const HTTP_VERSIONS = [
  ["HTTP/2", []],
  ["HTTP/1.1", ["--disable-http2"]],
] as const;

describeWithChromium(`a browser page of another origin (${CHROMIUM})`, () => {
  const certs = makeCertificates();
  let pageServer: https.Server;
  let pageOrigin: string;

  beforeAll(async () => {
    const { dir } = await bundlePage();
    pageServer = https.createServer({ cert: certs.serverCert, key: certs.serverKey }, (request, response) => {
      const file = request.url === "/page.js" ? "page.js" : "index.html";
      response.writeHead(200, { "content-type": file.endsWith(".js") ? "text/javascript" : "text/html" });
      response.end(readFileSync(path.join(dir, file)));
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    pageOrigin = `https://localhost:${(pageServer.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(() => pageServer?.close());

  describe.each(TEST_BACKENDS)("on $name", (backend) => {
    let database: TestDatabase;
    let server: TestServer;
    beforeAll(async () => {
      database = await backend.open();
      server = await startTestServer(
        database,
        { corsAllowedOrigins: [pageOrigin] },
        {
          cert: certs.serverCert,
          key: certs.serverKey,
        },
      );
    });
    afterAll(async () => {
      await server?.close();
      await database?.close();
    });

    describe.each(HTTP_VERSIONS)("over %s", (_, flags) => {
      let browser: Browser;
      beforeAll(async () => {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", ...flags],
        });
      });
      afterAll(() => browser?.close());

      test.each(["connect", "grpcweb"] as const)(
        "%s: create, read, a streamed page and its token, a refusal and a BadRequest",
        async (protocol) => {
          const context = await browser.newContext({ ignoreHTTPSErrors: true });
          try {
            const page = await context.newPage();
            await page.goto(`${pageOrigin}/index.html`);
            const result = await page.evaluate(
              (run) =>
                (globalThis as unknown as { runProductCalls(run: unknown): Promise<unknown> }).runProductCalls(run),
              {
                baseUrl: `https://127.0.0.1:${server.port}`,
                token: await testToken(),
                readOnlyToken: await testToken([SCOPES.read]),
                protocol,
              },
            );
            expect(result).toEqual({
              created: { name: "Teapot", price: 19.5, category: `browser-${protocol}` },
              readBack: true,
              page: expect.arrayContaining(["Teapot"]) as unknown,
              nextPageToken: expect.stringMatching(/^v1\./) as unknown,
              denied: "PermissionDenied",
              invalid: {
                code: "InvalidArgument",
                message: "name: must not be empty",
                fields: ["name: must not be empty"],
              },
            });
            expect((result as { page: string[] }).page).toHaveLength(2);
          } finally {
            await context.close();
          }
        },
      );
    });
  });
});

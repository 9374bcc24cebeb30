// The server's transport credentials: TLS when certificates are configured,
// mTLS when a client CA is too, plaintext otherwise (config.ts allows that on
// loopback addresses or with ALLOW_INSECURE=true only).
import { ServerCredentials } from "@grpc/grpc-js";
import type { TlsConfig } from "./config";

export function serverCredentials(tls: TlsConfig | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.clientCa === undefined ? null : Buffer.from(tls.clientCa),
    [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
    // Require and verify client certificates exactly when a client CA is given.
    tls.clientCa !== undefined,
  );
}

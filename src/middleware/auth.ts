// Bearer-token auth with scopes. Every method must be mapped to the scope it
// needs; a method with no mapping is denied, so a new RPC is never open by
// accident. Failures say as little as they can: UNAUTHENTICATED for any
// missing or unverifiable token, PERMISSION_DENIED naming the missing scope.
import { Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc-common";
import { Reason } from "../shared/errors";
import { statusError } from "./status-error";
import type { Principal, TokenVerifier } from "../auth/token-verifier";

export interface AuthContext {
  readonly principal: Principal;
}

export interface AuthOptions {
  readonly verifier: TokenVerifier;
  /** Method path (/package.Service/Method) → the scope it requires. */
  readonly requiredScopes: ReadonlyMap<string, string>;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

export function createAuthMiddleware(options: AuthOptions) {
  return async function* authMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response, AuthContext>,
    context: CallContext,
  ) {
    const required = options.requiredScopes.get(call.method.path);
    if (required === undefined)
      throw statusError(Status.PERMISSION_DENIED, "this method is not open to any caller", Reason.METHOD_CLOSED);

    const header = context.metadata.get("authorization");
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const principal = token === undefined ? undefined : await options.verifier.verify(token);
    if (principal === undefined) {
      throw statusError(Status.UNAUTHENTICATED, "a valid bearer token is required", Reason.TOKEN_REQUIRED);
    }
    if (!principal.scopes.has(required)) {
      throw statusError(Status.PERMISSION_DENIED, `the token lacks the scope ${required}`, Reason.SCOPE_MISSING, {
        metadata: { scope: required },
      });
    }
    return yield* call.next(call.request, { ...context, principal });
  };
}

/**
 * Response wrapping (Vault's cubbyhole response wrapping): a response is stored in the cubbyhole of
 * a new single-use token, and the client gets only `wrap_info` with that token.
 *
 * Invariants:
 * - a wrapping token is an orphan service token with exactly the `response-wrapping` policy (a name
 *   no stored policy can take) and one use; its cubbyhole holds the response at `response`;
 * - unwrapping takes the response out of the cubbyhole in one statement (of concurrent unwraps
 *   exactly one gets it) and then revokes the token;
 * - the wrapped body is barrier ciphertext bound to the token, like any cubbyhole value.
 */
import type { CubbyholeRepository } from '../cubbyhole/cubbyhole.repository';
import { badRequest } from '../errors';
import type { TokenInfo, TokenStore } from '../token/token-store.service';

export const RESPONSE_WRAPPING_POLICY = 'response-wrapping';
const RESPONSE_PATH = 'response';
/** Where the wrapping token was made and what it wraps, for `sys/wrapping/lookup`. */
const INFO_PATH = 'wrap-info';

/** `sys/wrapping/wrap` without X-Vault-Wrap-TTL: Vault's default. */
export const DEFAULT_WRAP_TTL_SECONDS = 300;

export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  wrapped_accessor: string;
}

interface StoredInfo {
  creation_path: string;
  creation_time: string;
  creation_ttl: number;
}

/** The same answer for an unknown, used, expired or non-wrapping token: Vault's text. */
export const invalidWrappingToken = () => badRequest('wrapping token is not valid or does not exist');

export function isWrappingToken(info: TokenInfo): boolean {
  return info.policies.length === 1 && info.policies[0] === RESPONSE_WRAPPING_POLICY && info.tokenType === 'service';
}

export class ResponseWrapper {
  constructor(
    private readonly tokens: TokenStore,
    private readonly cubbyhole: CubbyholeRepository,
  ) {}

  /** Stores `body` (the response JSON as the client would have received it) behind a new wrapping token. */
  async wrap(body: string, creationPath: string, ttlSeconds: number, wrappedAccessor = ''): Promise<WrapInfo> {
    const created = await this.tokens.create({
      policies: [RESPONSE_WRAPPING_POLICY],
      orphan: true,
      displayName: '',
      creationPath,
      meta: {},
      renewable: false,
      ttlSeconds,
      explicitMaxTtlSeconds: ttlSeconds,
      numUses: 1,
    });
    const creationTime = created.info.createdAt.toISOString();
    const info: StoredInfo = { creation_path: creationPath, creation_time: creationTime, creation_ttl: ttlSeconds };
    await this.cubbyhole.put(created.info.tokenHmac, INFO_PATH, Buffer.from(JSON.stringify(info), 'utf8'));
    await this.cubbyhole.put(created.info.tokenHmac, RESPONSE_PATH, Buffer.from(body, 'utf8'));
    return {
      token: created.token,
      accessor: created.accessor,
      ttl: ttlSeconds,
      creation_time: creationTime,
      creation_path: creationPath,
      wrapped_accessor: wrappedAccessor,
    };
  }

  private async wrappingToken(token: string): Promise<TokenInfo> {
    const info = await this.tokens.lookup(token);
    if (!info || !isWrappingToken(info)) throw invalidWrappingToken();
    return info;
  }

  /** The wrapped response body, once: the token is spent and revoked. */
  async unwrap(token: string): Promise<string> {
    const info = await this.wrappingToken(token);
    const body = await this.cubbyhole.take(info.tokenHmac, RESPONSE_PATH);
    if (!body) throw invalidWrappingToken();
    await this.tokens.revoke(info);
    return body.toString('utf8');
  }

  /** Where and when the token was made and for how long, without using it. */
  async lookup(token: string): Promise<StoredInfo> {
    const info = await this.wrappingToken(token);
    const stored = await this.cubbyhole.get(info.tokenHmac, INFO_PATH);
    if (!stored || !(await this.cubbyhole.get(info.tokenHmac, RESPONSE_PATH))) throw invalidWrappingToken();
    return JSON.parse(stored.toString('utf8')) as StoredInfo;
  }

  /** A new wrapping token for the same response (same creation path); the old one is spent. */
  async rewrap(token: string, ttlSeconds?: number): Promise<WrapInfo> {
    const info = await this.wrappingToken(token);
    const stored = await this.cubbyhole.get(info.tokenHmac, INFO_PATH);
    const body = await this.cubbyhole.take(info.tokenHmac, RESPONSE_PATH);
    if (!body || !stored) throw invalidWrappingToken();
    await this.tokens.revoke(info);
    const previous = JSON.parse(stored.toString('utf8')) as StoredInfo;
    return this.wrap(body.toString('utf8'), previous.creation_path, ttlSeconds ?? previous.creation_ttl);
  }
}

import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseCosignerKey, parseVerifierKey } from './ledger/note/index.js';
import { ChainproofError } from './errors.js';
import { peerSpec } from './sync/peer.js';
import { shownUrlProblem } from './shown-url.js';

/** Defaults a new ledger takes unless `createLedger` says otherwise. */
export interface LedgerDefaults {
  hashAlg: 'sha256' | 'blake3';
  blockSize: number;
  maxBlockIntervalMs: number;
  minDifficulty: number;
  maxDifficulty: number;
  initialDifficulty: number;
  targetBlockMs: number;
  retargetBlocks: number;
  checkpointInterval: number;
}

export interface Config {
  host: string;
  port: number;
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize: number;
  /** Longest a statement on PostgreSQL waits for a lock (a stalled process holding a ledger's head) before failing. */
  dbLockTimeoutMs: number;
  /** Prefix of every ledger's origin and the name of the server's signing key. */
  originPrefix: string;
  /** Whether CHAINPROOF_ORIGIN set it; otherwise it is the host name until a database says otherwise (settleOriginPrefix). */
  originGiven: boolean;
  signingSeedHex?: string;
  signingKeyFile?: string;
  /** Verifier keys this server's log was signed with before its current key (oldest first). */
  previousVerifierKeys: string[];
  maxPayloadBytes: number;
  maxBatch: number;
  maxBodyBytes: number;
  publicReads: boolean;
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
  rateLimitPerIp: number;
  rateLimitPerKey: number;
  introspection: boolean;
  wsMaxBufferedBytes: number;
  wsMaxOperations: number;
  wsMaxConnectionsPerIp: number;
  subscriberQueue: number;
  landingPage: boolean;
  /** Bootstrap admin key for automated deployments; never logged. */
  adminKey?: string;
  hlcMaxSkewMs: number;
  minerWorkers: number;
  /** Accounts or DIDs whose GraphQL operations are recorded as OperationAudited events in `main`. */
  auditAgents: string[];
  /** Hold an audited operation's answer until its audit is committed. */
  auditBeforeAnswer: boolean;
  logLevel: string;
  development: boolean;
  ledgerDefaults: LedgerDefaults;
  governance: GovernanceConfig;
  /** Verifier keys of the logs this node witnesses (C2SP vkeys). */
  witnessLogs: string[];
  /** Witnesses whose cosignatures this node's checkpoints collect: base URL and cosigner key. */
  validators: Array<{ url: string; vkey: string }>;
  /** Who changes contracts: admins directly, or only a passed proposal's `rule` actions. */
  rulesAuthority: 'admin' | 'proposal';
  /** Install the built-in contracts at the first start (rules/builtins.ts). */
  rulesBuiltins: boolean;
  sync: SyncConfig;
}

export interface SyncConfig {
  /** Peers this node pulls from: GraphQL URL and the verifier key their checkpoints must carry. */
  peers: Array<{ url: string; vkey: string }>;
  intervalMs: number;
  enabled: boolean;
  /** API key presented to peers that do not serve reads publicly. A secret: never logged. */
  apiKey?: string;
  pageSize: number;
  maxRequestsPerSecond: number;
}

export interface GovernanceConfig {
  /** Voting power an account needs to create a proposal. */
  proposalThreshold: bigint;
  /** Proposals one proposer may have pending or active at once. */
  maxLiveProposals: number;
  /** How long a queued proposal stays executable after its timelock, in seconds. */
  graceS: number;
  /** Tokens minted to the server's miner identity per mined block of `main` (0: none) until governance changes it. */
  miningReward: bigint;
}

/** How long a statement waits for a lock another process holds, unless configured (see openDatabase). */
export const DEFAULT_DB_LOCK_TIMEOUT_MS = 30_000;

/** Every variable the server reads, with its default, so the README and `--help` agree with the code. */
export const ENV_DOCS: ReadonlyArray<[name: string, defaultValue: string, meaning: string]> = [
  ['CHAINPROOF_HOST', '127.0.0.1', 'interface the HTTP/WebSocket server binds'],
  ['PORT', '4000', 'HTTP/WebSocket port (GraphQL at /graphql)'],
  ['DATABASE_URL', '(unset)', 'PostgreSQL URL; unset runs the embedded PostgreSQL (PGlite)'],
  ['CHAINPROOF_DATA_DIR', './data', 'embedded database and generated signing key live here'],
  ['CHAINPROOF_DB_POOL', '10', 'PostgreSQL connections per process (the embedded database uses one: PGlite is a single session)'],
  ['CHAINPROOF_DB_LOCK_TIMEOUT_MS', String(DEFAULT_DB_LOCK_TIMEOUT_MS), 'longest a request waits for a lock another process holds (say, a ledger\'s head) before it fails with UNAVAILABLE; migrations wait as long as they must'],
  ['CHAINPROOF_ORIGIN', 'the stored one, else the host name', 'origin prefix: ledger "main" has origin <prefix>/main; also the signing key name; fixed once a database has ledgers'],
  ['CHAINPROOF_PUBLIC_READS', 'true', 'false: every query, subscription and /metrics scrape needs an API key (any role)'],
  ['CHAINPROOF_ADMIN_KEY', '(unset)', 'bootstrap admin API key (≥ 32 chars) for automation; embedded default: generated into <data dir>/admin.key'],
  ['CHAINPROOF_SIGNING_SEED', '(unset)', '64 hex chars: Ed25519 seed that signs checkpoints and server events'],
  ['CHAINPROOF_SIGNING_KEY_FILE', '(unset)', 'file holding that seed in hex (embedded default: <data dir>/signing.key, created 0600)'],
  ['CHAINPROOF_PREVIOUS_VERIFIER_KEYS', '(unset)', 'comma-separated C2SP verifier keys the log was signed with before the current key (a key rotation: public keys only)'],
  ['CHAINPROOF_MAX_PAYLOAD_BYTES', '65536', 'largest canonical event payload accepted'],
  ['CHAINPROOF_MAX_BATCH', '1000', 'most events one appendEvents call may carry'],
  ['CHAINPROOF_MAX_BODY_BYTES', '16777216', 'largest HTTP request body accepted'],
  ['CHAINPROOF_MAX_DEPTH', '12', 'deepest GraphQL selection accepted (DEPTH_LIMIT)'],
  ['CHAINPROOF_MAX_ALIASES', '30', 'most aliases in one operation (ALIAS_LIMIT)'],
  ['CHAINPROOF_MAX_COST', '50000', 'largest operation cost: fields × list sizes, verify 1000 (COST_LIMIT)'],
  ['CHAINPROOF_MAX_TOKENS', '20000', 'most lexical tokens in one document (TOKEN_LIMIT)'],
  ['CHAINPROOF_RATE_LIMIT_PER_IP', '1000', 'requests per second per client IP (IPv6 by /64), bursts of 2 s; 0 = off (RATE_LIMITED)'],
  ['CHAINPROOF_RATE_LIMIT_PER_KEY', '1000', 'requests per second per API key, bursts of 2 s; 0 = off'],
  ['CHAINPROOF_INTROSPECTION', 'true', 'allow schema introspection'],
  ['CHAINPROOF_SUBSCRIBER_QUEUE', '10000', 'live messages a subscriber may have waiting, while its `after` replay runs or behind a result still executing, before it is closed (4429 slow consumer)'],
  ['CHAINPROOF_WS_MAX_BUFFERED_BYTES', '8388608', 'a subscriber with this much unread is closed (4429 slow consumer)'],
  ['CHAINPROOF_WS_MAX_CONNECTIONS_PER_IP', '1000', 'WebSockets one client address may hold open at once; more are refused with HTTP 429 (behind a proxy, all clients share its address); 0 = no cap'],
  ['CHAINPROOF_WS_MAX_OPERATIONS', '100', 'operations (subscriptions included) one WebSocket may have running at once; more are refused (OPERATION_LIMIT)'],
  ['CHAINPROOF_LANDING_PAGE', 'false', 'serve Apollo\'s landing page on GET /graphql'],
  ['CHAINPROOF_HLC_MAX_SKEW_MS', '60000', 'how far a client-supplied HLC may stray from the server clock'],
  ['CHAINPROOF_MINER_WORKERS', '1', 'worker threads mining blocks'],
  ['CHAINPROOF_AUDIT_AGENTS', '(unset)', 'comma-separated API key names or DIDs whose GraphQL operations are recorded (OperationAudited in ledger main)'],
  ['CHAINPROOF_AUDIT_BEFORE_ANSWER', 'true', 'an audited operation is answered once its audit is committed (10 s at most, then with a warning), so a crash of the server never loses the audit of an answered operation; false: answered at once, audit after'],
  ['CHAINPROOF_HASH_ALG', 'sha256', 'default Merkle hash of new ledgers: sha256 or blake3 (fixed for a ledger\'s life)'],
  ['CHAINPROOF_BLOCK_SIZE', '1000', 'default events per block for new ledgers'],
  ['CHAINPROOF_MAX_BLOCK_INTERVAL_MS', '2000', 'default: seal a partial block once its oldest event waited this long (≥ 50)'],
  ['CHAINPROOF_MIN_DIFFICULTY', '8', 'default lower bound of proof-of-work difficulty (leading zero bits, at most 32)'],
  ['CHAINPROOF_MAX_DIFFICULTY', '24', 'default upper bound of difficulty'],
  ['CHAINPROOF_INITIAL_DIFFICULTY', '12', 'default difficulty of the genesis block'],
  ['CHAINPROOF_TARGET_BLOCK_MS', '1000', 'default block time difficulty retargets toward'],
  ['CHAINPROOF_RETARGET_BLOCKS', '16', 'default: retarget difficulty every this many blocks'],
  ['CHAINPROOF_CHECKPOINT_INTERVAL', '10000', 'default: sign a checkpoint once this many events are past the last one'],
  ['CHAINPROOF_GOV_PROPOSAL_THRESHOLD', '0', 'voting power needed to create a proposal (BELOW_PROPOSAL_THRESHOLD)'],
  ['CHAINPROOF_GOV_MAX_LIVE_PROPOSALS', '3', 'pending or active proposals one proposer may have at once (TOO_MANY_PROPOSALS)'],
  ['CHAINPROOF_GOV_GRACE_S', '1209600', 'seconds a queued proposal stays executable after its timelock, then EXPIRED'],
  ['CHAINPROOF_MINING_REWARD', '0', 'tokens minted to the server\'s miner identity per block of main (governance may change it)'],
  ['CHAINPROOF_WITNESS_LOGS', '(unset)', 'comma-separated C2SP verifier keys of logs this node cosigns as a witness (POST /witness/add-checkpoint); a key named N covers origins N and N/…, and no key may be named N/… beside it'],
  ['CHAINPROOF_VALIDATORS', '(unset)', 'comma-separated url|vkey of witnesses (their base URL, with no credentials, query string or fragment, and Ledger.witnessKey) whose cosignatures checkpoints collect; FINAL with ⌈(n+f+1)/2⌉ of n, f = ⌊(n−1)/3⌋ (2f+1 of 3f+1)'],
  ['CHAINPROOF_PEERS', '(unset)', 'comma-separated url|vkey of peers to sync with: their GraphQL URL (no credentials, query string or fragment in it: see CHAINPROOF_SYNC_API_KEY) and Ledger.verifierKey (pinned)'],
  ['CHAINPROOF_SYNC', 'true', 'false: no automatic syncs (syncNow still works)'],
  ['CHAINPROOF_SYNC_INTERVAL_MS', '300000', 'between automatic syncs with each peer; failures retry sooner, backing off exponentially'],
  ['CHAINPROOF_SYNC_API_KEY', '(unset)', 'API key this node presents to peers that need one for reads'],
  ['CHAINPROOF_SYNC_PAGE_SIZE', '1000', 'events pulled per request (at most 2000)'],
  ['CHAINPROOF_SYNC_MAX_RPS', '50', 'requests per second to one peer, at most'],
  ['CHAINPROOF_RULES_AUTHORITY', 'admin', 'who creates and (de)activates contracts: "admin" (createContract, setContractActive) or "proposal" (only a passed proposal\'s rule actions)'],
  ['CHAINPROOF_RULES_BUILTINS', 'true', 'install the built-in contracts (contribution rewards, quality monitor, governance automation) at the first start; false: a ledger without them'],
  ['LOG_LEVEL', 'info', 'pino log level'],
  ['NODE_ENV', 'production', '"development" shows stack traces in GraphQL errors (bin/chainproof.js sets "production" when unset)'],
];

type Env = Record<string, string | undefined>;

/**
 * Reads configuration from the environment. Collects every bad value before failing,
 * so an operator fixes them all in one go.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (!/^\d+$/.test(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a whole number`);
      return def;
    }
    const n = Number(raw);
    if (n < min || n > max) problems.push(`${name}=${raw} is outside ${min}..${max}`);
    return n;
  };
  const bool = (name: string, def: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
    problems.push(`${name}=${JSON.stringify(raw)} is not true or false`);
    return def;
  };
  if (env.CHAINPROOF_ADMIN_KEY !== undefined && env.CHAINPROOF_ADMIN_KEY !== '' && env.CHAINPROOF_ADMIN_KEY.length < 32) {
    problems.push('CHAINPROOF_ADMIN_KEY must be at least 32 characters');
  }
  const seed = env.CHAINPROOF_SIGNING_SEED || undefined;
  if (seed !== undefined && !/^[0-9a-fA-F]{64}$/.test(seed)) {
    problems.push('CHAINPROOF_SIGNING_SEED must be 64 hex characters (a 32-byte Ed25519 seed)');
  }
  const originPrefix = env.CHAINPROOF_ORIGIN || hostname() || 'chainproof.local';
  if (/\s|\+/.test(originPrefix)) problems.push('CHAINPROOF_ORIGIN must not contain spaces or "+"');
  if (originPrefix.length > 256) problems.push('CHAINPROOF_ORIGIN must be at most 256 characters');
  const hashAlg = env.CHAINPROOF_HASH_ALG ?? 'sha256';
  if (hashAlg !== 'sha256' && hashAlg !== 'blake3') problems.push('CHAINPROOF_HASH_ALG must be sha256 or blake3');

  const tokens = (name: string, def: bigint): bigint => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (!/^(0|[1-9][0-9]{0,59})$/.test(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a whole number of tokens`);
      return def;
    }
    return BigInt(raw);
  };

  const config: Config = {
    host: env.CHAINPROOF_HOST || '127.0.0.1',
    port: int('PORT', 4000, 0, 65535),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: resolve(env.CHAINPROOF_DATA_DIR || './data'),
    dbPoolSize: int('CHAINPROOF_DB_POOL', 10, 1, 200),
    dbLockTimeoutMs: int('CHAINPROOF_DB_LOCK_TIMEOUT_MS', DEFAULT_DB_LOCK_TIMEOUT_MS, 100, 3_600_000),
    originPrefix,
    originGiven: Boolean(env.CHAINPROOF_ORIGIN),
    signingSeedHex: seed?.toLowerCase(),
    signingKeyFile: env.CHAINPROOF_SIGNING_KEY_FILE || undefined,
    previousVerifierKeys: (env.CHAINPROOF_PREVIOUS_VERIFIER_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean),
    maxPayloadBytes: int('CHAINPROOF_MAX_PAYLOAD_BYTES', 65536, 2, 16 * 1024 * 1024),
    maxBatch: int('CHAINPROOF_MAX_BATCH', 1000, 1, 100_000),
    publicReads: bool('CHAINPROOF_PUBLIC_READS', true),
    maxDepth: int('CHAINPROOF_MAX_DEPTH', 12, 1, 100),
    maxAliases: int('CHAINPROOF_MAX_ALIASES', 30, 0, 10_000),
    maxCost: int('CHAINPROOF_MAX_COST', 50_000, 1, 100_000_000),
    maxTokens: int('CHAINPROOF_MAX_TOKENS', 20_000, 100, 10_000_000),
    rateLimitPerIp: int('CHAINPROOF_RATE_LIMIT_PER_IP', 1000, 0, 1_000_000),
    rateLimitPerKey: int('CHAINPROOF_RATE_LIMIT_PER_KEY', 1000, 0, 1_000_000),
    introspection: bool('CHAINPROOF_INTROSPECTION', true),
    subscriberQueue: int('CHAINPROOF_SUBSCRIBER_QUEUE', 10_000, 10, 10_000_000),
    wsMaxBufferedBytes: int('CHAINPROOF_WS_MAX_BUFFERED_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    wsMaxOperations: int('CHAINPROOF_WS_MAX_OPERATIONS', 100, 1, 100_000),
    wsMaxConnectionsPerIp: int('CHAINPROOF_WS_MAX_CONNECTIONS_PER_IP', 1000, 0, 10_000_000),
    landingPage: bool('CHAINPROOF_LANDING_PAGE', false),
    adminKey: env.CHAINPROOF_ADMIN_KEY || undefined,
    maxBodyBytes: int('CHAINPROOF_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    hlcMaxSkewMs: int('CHAINPROOF_HLC_MAX_SKEW_MS', 60_000, 0, 86_400_000),
    minerWorkers: int('CHAINPROOF_MINER_WORKERS', 1, 1, 64),
    auditAgents: (env.CHAINPROOF_AUDIT_AGENTS ?? '').split(',').map((a) => a.trim()).filter(Boolean),
    auditBeforeAnswer: bool('CHAINPROOF_AUDIT_BEFORE_ANSWER', true),
    logLevel: env.LOG_LEVEL || 'info',
    development: env.NODE_ENV === 'development',
    ledgerDefaults: {
      hashAlg: hashAlg === 'blake3' ? 'blake3' : 'sha256',
      blockSize: int('CHAINPROOF_BLOCK_SIZE', 1000, 1, 1_000_000),
      maxBlockIntervalMs: int('CHAINPROOF_MAX_BLOCK_INTERVAL_MS', 2000, 50, 86_400_000),
      minDifficulty: int('CHAINPROOF_MIN_DIFFICULTY', 8, 0, 32),
      maxDifficulty: int('CHAINPROOF_MAX_DIFFICULTY', 24, 0, 32),
      initialDifficulty: int('CHAINPROOF_INITIAL_DIFFICULTY', 12, 0, 32),
      targetBlockMs: int('CHAINPROOF_TARGET_BLOCK_MS', 1000, 1, 86_400_000),
      retargetBlocks: int('CHAINPROOF_RETARGET_BLOCKS', 16, 2, 1_000_000),
      checkpointInterval: int('CHAINPROOF_CHECKPOINT_INTERVAL', 10_000, 1, 1_000_000_000),
    },
    validators: (env.CHAINPROOF_VALIDATORS ?? '').split(',').map((v) => v.trim()).filter(Boolean).map((v) => {
      const [url = '', vkey = ''] = v.split('|');
      return { url: url.replace(/\/+$/, ''), vkey };
    }),
    witnessLogs: (env.CHAINPROOF_WITNESS_LOGS ?? '').split(',').map((k) => k.trim()).filter(Boolean),
    governance: {
      proposalThreshold: tokens('CHAINPROOF_GOV_PROPOSAL_THRESHOLD', 0n),
      maxLiveProposals: int('CHAINPROOF_GOV_MAX_LIVE_PROPOSALS', 3, 1, 1_000_000),
      graceS: int('CHAINPROOF_GOV_GRACE_S', 1_209_600, 1, 3_153_600_000),
      miningReward: tokens('CHAINPROOF_MINING_REWARD', 0n),
    },
    rulesAuthority: env.CHAINPROOF_RULES_AUTHORITY === 'proposal' ? 'proposal' : 'admin',
    sync: {
      peers: (env.CHAINPROOF_PEERS ?? '').split(',').map((v) => v.trim()).filter(Boolean).map((v) => {
        const [url = '', vkey = ''] = v.split('|');
        return { url, vkey };
      }),
      intervalMs: int('CHAINPROOF_SYNC_INTERVAL_MS', 300_000, 100, 86_400_000),
      enabled: bool('CHAINPROOF_SYNC', true),
      apiKey: env.CHAINPROOF_SYNC_API_KEY || undefined,
      pageSize: int('CHAINPROOF_SYNC_PAGE_SIZE', 1000, 1, 2000),
      maxRequestsPerSecond: int('CHAINPROOF_SYNC_MAX_RPS', 50, 1, 10_000),
    },
    rulesBuiltins: bool('CHAINPROOF_RULES_BUILTINS', true),
  };
  for (const p of config.sync.peers) {
    try {
      peerSpec(p.url, p.vkey);
    } catch (e) {
      problems.push(`CHAINPROOF_PEERS: ${(e as Error).message}`);
    }
  }
  for (const k of config.previousVerifierKeys) {
    try {
      parseVerifierKey(k);
    } catch (e) {
      problems.push(`CHAINPROOF_PREVIOUS_VERIFIER_KEYS: ${(e as Error).message}`);
    }
  }
  const logNames = new Set<string>();
  for (const k of config.witnessLogs) {
    try {
      logNames.add(parseVerifierKey(k).name);
    } catch (e) {
      problems.push(`CHAINPROOF_WITNESS_LOGS: ${(e as Error).message}`);
    }
  }
  // A key named N covers origins N and N/…, and the witness keeps one state per origin: with N and
  // N/x both trusted, log N could sign origin N/x/… and fork log N/x's view of it. Refused rather
  // than settled by the longer name, which would leave log N's own origins under N/x unwitnessable.
  for (const name of logNames) {
    for (const other of logNames) {
      if (other.startsWith(`${name}/`)) problems.push(`CHAINPROOF_WITNESS_LOGS: the keys named ${name} and ${other} would both cover origin ${other} and those under it`);
    }
  }
  const validatorKeys = new Set<string>();
  for (const [i, v] of config.validators.entries()) {
    const problem = shownUrlProblem(v.url);
    if (problem) problems.push(`CHAINPROOF_VALIDATORS: validator ${i + 1}'s URL ${problem}`);
    try {
      // One key is one validator, whatever names it comes under: counted twice, it could make a quorum alone.
      const key = parseCosignerKey(v.vkey).publicKey.toString('hex');
      if (validatorKeys.has(key)) problems.push(`CHAINPROOF_VALIDATORS: validator ${i + 1} has the key of another validator`);
      validatorKeys.add(key);
    } catch (e) {
      problems.push(`CHAINPROOF_VALIDATORS: ${(e as Error).message}`);
    }
  }
  if (config.auditAgents.some((a) => a.length > 512)) problems.push('CHAINPROOF_AUDIT_AGENTS names must be at most 512 characters each');
  if (![undefined, '', 'admin', 'proposal'].includes(env.CHAINPROOF_RULES_AUTHORITY)) {
    problems.push(`CHAINPROOF_RULES_AUTHORITY=${JSON.stringify(env.CHAINPROOF_RULES_AUTHORITY)} must be admin or proposal`);
  }
  const d = config.ledgerDefaults;
  if (d.minDifficulty > d.maxDifficulty) problems.push('CHAINPROOF_MIN_DIFFICULTY exceeds CHAINPROOF_MAX_DIFFICULTY');
  if (problems.length > 0) {
    throw new ChainproofError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return config;
}

/**
 * Cluster configuration and the quorum arithmetic every other part of the core relies on.
 *
 * The formulas are those of the protocol brief (§2.1) for general n ≥ 3f+1, not only n = 3f+1:
 *   q  = ⌈(n+f+1)/2⌉   classic quorum: accept (prepare) certificates, commit certificates, checkpoints
 *   Qf = ⌈(n+3f+1)/2⌉  fast quorum (used by the fast path)
 *   V  = n − f          number of VIEW-CHANGE messages a NEW-VIEW carries
 *   τ  = Qf − 2f        votes for one digest, above the highest prepare certificate, that a
 *                       view change must preserve (they may be a fast decision)
 *   t  = n − Qf = ⌊(n−3f−1)/2⌋  slow or silent replicas the fast path tolerates (0 at n = 3f+1,
 *                       where Qf = n; f at n = 5f+1, where Qf = 4f+1)
 * `validateConfig` asserts the intersection conditions the safety argument uses, so a configuration
 * that would be unsafe can never start.
 *
 * Why a fast decision is safe (the sketch behind each condition; the per-slot argument across
 * views is in select.ts):
 *  - In one view, a fast certificate (Qf ACCEPTs for D) and a prepare certificate for D′ ≠ D would
 *    share q+Qf−n ≥ f+1 signers, so at least one correct replica signed two ACCEPTs for one slot in
 *    one view — which it never does. The same holds for two prepare certificates (2q−n ≥ f+1).
 *    So a fast decision, a classic decision and every prepare certificate of a view name one value.
 *  - Across views, D decided fast in view w was voted by ≥ Qf−f correct replicas. A view-change set
 *    has n−f reports, so it misses at most f of them and contains ≥ Qf−2f = τ of their reports.
 *    Their votes stay on D in later views (induction), so D has ≥ τ votes at or above w, while any
 *    other value has only Byzantine votes above w_pc: f < τ (τ ≥ f+1). Two values cannot both reach
 *    τ in one set (2τ > n−f), so SELECT returns D.
 *  - Liveness: q ≤ n−f, so the classic path and view changes finish with f silent replicas. The
 *    fast path needs Qf, so it waits only for bounded time (deferred policy) and falls back.
 * At n = 3f+1 these force Qf = n: with Qf = n−1 a fast certificate and a view-change set could
 * overlap in only τ−1 = f correct voters, no more than the Byzantine ones, and SELECT could not
 * tell the decided value from a lie (test/core/quorums.test.ts checks this by brute force).
 */

export type ReplicaId = number;
export type ClientId = number;

export interface ReplicaInfo {
  id: ReplicaId;
  publicKey: Uint8Array;
  /**
   * Where the replica listens (a ws:// URL for real processes, '' in the simulator). Opaque to the
   * protocol; part of the replicated configuration so that a joining replica and a client that
   * follows a membership change learn where the new members are.
   */
  address?: string;
}

export interface ClientInfo {
  id: ClientId;
  publicKey: Uint8Array;
}

/**
 * One configuration of the cluster: the members of one epoch. `cluster.json` is epoch 0; every
 * later one is replicated state (membership.ts), decided through the log.
 */
export interface ClusterConfig {
  /** Binds every signature to this cluster, so messages cannot be replayed into another one. */
  clusterId: string;
  /** 0 for the genesis configuration; +1 with every membership change. Signed into every statement. */
  epoch?: number;
  n: number;
  f: number;
  /** The members, in increasing id order (ids need not be contiguous: an id is never reused). */
  replicas: ReplicaInfo[];
  /** Clients allowed to submit requests; a request from anyone else is dropped. */
  clients: ClientInfo[];
  /** Keys that may sign membership changes (ids distinct from client ids). */
  admins?: ClientInfo[];
}

export const epochOf = (c: ClusterConfig): number => c.epoch ?? 0;

/** The member with this id, or undefined. */
export function memberOf(c: ClusterConfig, id: ReplicaId): ReplicaInfo | undefined {
  // Configurations are small (n ≤ a few dozen) and most are contiguous: try the position first.
  const guess = c.replicas[id];
  if (guess && guess.id === id) return guess;
  return c.replicas.find((r) => r.id === id);
}

export const isMember = (c: ClusterConfig, id: ReplicaId): boolean => memberOf(c, id) !== undefined;

/** `fast`: Qf matching ACCEPTs decide on their own; `classic`: only q COMMITs decide. */
export type CommitPath = 'classic' | 'fast';
/**
 * On the fast path, when a prepared replica sends its COMMIT (brief §2.3):
 * `concurrent` at once, deciding on whichever certificate completes first (saves latency);
 * `deferred` only if the fast certificate has not completed within `deferTicks` (saves latency
 * and the COMMIT round's signatures while every replica is healthy).
 */
export type CommitPolicy = 'concurrent' | 'deferred';

export interface ProtocolParams {
  mode: CommitPath;
  commitPolicy: CommitPolicy;
  /** Deferred policy: ticks a prepared replica waits for the fast certificate before sending COMMIT. */
  deferTicks: number;
  /** Deferred policy: after this many slots in a row miss the fast certificate, stop waiting for it... */
  fastMissLimit: number;
  /** ...for this many slots, then try the fast path again. */
  classicSlotsAfterFallback: number;
  /** A checkpoint is taken every `checkpointInterval` slots (K in the brief). */
  checkpointInterval: number;
  /** Slots the leader may propose above the stable checkpoint (W = high − low watermark). */
  window: number;
  /** At most this many proposed-but-undecided slots at once; more requests wait and get batched. */
  maxInflight: number;
  /** At most this many requests in one batch. */
  maxBatch: number;
  /** Ticks a request may wait for execution before a backup suspects the leader. */
  requestTimeoutTicks: number;
  /**
   * Ticks a backup holds a request that came from its client before relaying it to the leader,
   * unless a PROPOSE carried it meanwhile: a client that sends to a backup sends to the leader too,
   * so the leader almost always has it; the relay is for a client that cannot reach the leader.
   */
  relayAfterTicks: number;
  /** Ticks to wait for a NEW-VIEW before moving to the next view; doubles per consecutive view change. */
  viewChangeTimeoutTicks: number;
  /** Cap on the exponential back-off of view-change timeouts (as a power of two). */
  maxBackoffExponent: number;
  /** Ticks between STATUS messages, which drive catch-up and retransmission. */
  statusIntervalTicks: number;
}

export const defaultParams: ProtocolParams = {
  mode: 'fast',
  commitPolicy: 'deferred',
  deferTicks: 4,
  fastMissLimit: 3,
  classicSlotsAfterFallback: 64,
  checkpointInterval: 128,
  window: 256,
  maxInflight: 8,
  maxBatch: 64,
  requestTimeoutTicks: 40,
  relayAfterTicks: 8,
  viewChangeTimeoutTicks: 60,
  maxBackoffExponent: 6,
  statusIntervalTicks: 10,
};

export interface Quorums {
  n: number;
  f: number;
  /** Classic quorum. */
  q: number;
  /** Fast quorum. */
  fast: number;
  /** Slow or silent replicas the fast path tolerates. */
  t: number;
  /** VIEW-CHANGE messages in a NEW-VIEW. */
  viewChangeSet: number;
  /** Fast-vote threshold inside a view change. */
  tau: number;
  /** Matching replies a client needs. */
  reply: number;
}

export function quorums(n: number, f: number): Quorums {
  const q = Math.ceil((n + f + 1) / 2);
  const fast = Math.ceil((n + 3 * f + 1) / 2);
  return {
    n,
    f,
    q,
    fast,
    t: n - fast,
    viewChangeSet: n - f,
    tau: fast - 2 * f,
    reply: f + 1,
  };
}

/** Throws with a message a user can act on when n and f cannot give a safe cluster. */
export function validateQuorums(n: number, f: number): Quorums {
  if (!Number.isInteger(n) || !Number.isInteger(f) || f < 0 || n < 1) {
    throw new Error(`n and f must be non-negative integers (got n=${n}, f=${f})`);
  }
  if (n < 3 * f + 1) {
    throw new Error(`n=${n} replicas cannot tolerate f=${f} Byzantine faults: need n ≥ 3f+1 = ${3 * f + 1}`);
  }
  const Q = quorums(n, f);
  // The intersection conditions of the brief §2.1; each one is used by the safety argument.
  const checks: [boolean, string][] = [
    [2 * Q.q - n >= f + 1, 'two classic quorums share a correct replica (2q−n ≥ f+1)'],
    [Q.q + Q.fast - n >= f + 1, 'a classic and a fast quorum share a correct replica (q+Qf−n ≥ f+1)'],
    [Q.tau >= f + 1, 'f Byzantine votes alone cannot reach τ (τ ≥ f+1)'],
    [2 * Q.tau > Q.viewChangeSet, 'at most one digest reaches τ in a view-change set (2τ > n−f)'],
    [Q.q <= n - f, 'a classic quorum is reachable with f silent replicas (q ≤ n−f)'],
    [Q.fast <= n, 'the fast quorum exists (Qf ≤ n)'],
  ];
  for (const [ok, what] of checks) {
    if (!ok) throw new Error(`quorum condition violated for n=${n}, f=${f}: ${what}`);
  }
  return Q;
}

export function validateConfig(config: ClusterConfig): Quorums {
  const Q = validateQuorums(config.n, config.f);
  if (config.replicas.length !== config.n) {
    throw new Error(`cluster lists ${config.replicas.length} replicas but n=${config.n}`);
  }
  const epoch = epochOf(config);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`epoch ${epoch} must be a non-negative integer`);
  config.replicas.forEach((r, i) => {
    if (!Number.isSafeInteger(r.id) || r.id < 0) throw new Error(`replica id ${r.id} must be a non-negative integer`);
    if (i > 0 && r.id <= config.replicas[i - 1]!.id) throw new Error(`replica ids must be distinct and in increasing order (${config.replicas[i - 1]!.id} then ${r.id})`);
    if (r.publicKey.length !== 32) throw new Error(`replica ${r.id} public key must be 32 bytes`);
  });
  const seen = new Set<number>();
  for (const [what, list] of [['client', config.clients], ['admin', config.admins ?? []]] as const) {
    for (const c of list) {
      if (!Number.isSafeInteger(c.id) || c.id < 0) throw new Error(`${what} id ${c.id} must be a non-negative integer`);
      if (seen.has(c.id)) throw new Error(`${what} id ${c.id} listed twice (client and admin ids share one space)`);
      if (c.publicKey.length !== 32) throw new Error(`${what} ${c.id} public key must be 32 bytes`);
      seen.add(c.id);
    }
  }
  if (config.clusterId.length === 0) throw new Error('clusterId must not be empty');
  return Q;
}

export function validateParams(p: ProtocolParams): void {
  if (p.mode !== 'classic' && p.mode !== 'fast') throw new Error(`mode must be 'classic' or 'fast' (got '${String(p.mode)}')`);
  if (p.commitPolicy !== 'concurrent' && p.commitPolicy !== 'deferred') throw new Error(`commitPolicy must be 'concurrent' or 'deferred' (got '${String(p.commitPolicy)}')`);
  const positive = Object.entries(p).filter(([k, v]) => k !== 'mode' && k !== 'commitPolicy' && (!Number.isInteger(v) || v < 1));
  if (positive.length > 0) throw new Error(`protocol parameters must be positive integers: ${positive.map(([k]) => k).join(', ')}`);
  if (p.relayAfterTicks >= p.requestTimeoutTicks) throw new Error(`relayAfterTicks (${p.relayAfterTicks}) must be below requestTimeoutTicks (${p.requestTimeoutTicks}): the leader must get a request before backups suspect it`);
  if (p.window < p.checkpointInterval) {
    // The leader must be able to propose past the next checkpoint or the window never advances.
    throw new Error(`window (${p.window}) must be at least checkpointInterval (${p.checkpointInterval})`);
  }
}

/**
 * The leader of view v is the (v mod n)-th member in id order: deterministic, so every replica of
 * the epoch agrees without messages. In the genesis configuration that is replica v mod n.
 */
export function leaderOf(view: number, config: Pick<ClusterConfig, 'replicas'>): ReplicaId {
  return config.replicas[view % config.replicas.length]!.id;
}

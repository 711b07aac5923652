/**
 * The common skeleton of most strategies: an honest `Replica` built from the context, wrapped.
 * The wrapper sees every input before the replica does (and may swallow or doctor it) and every
 * output after (and may rewrite, drop, duplicate or re-sign it, per recipient). The honest core
 * is used as is — a strategy only ever does what a replica holding the key could do on the wire.
 */
import { kvStoreFactory } from '../app/kv-store.ts';
import { Auth } from '../core/auth.ts';
import { defaultParams, leaderOf, quorums, type ProtocolParams, type Quorums, type ReplicaId } from '../core/config.ts';
import { emptyOutputs, type Input, type Outputs, type Send } from '../core/io.ts';
import type { Batch, ClientRequest, Digest, NewViewMsg, ProposeMsg, ReplicaMessage, RequestMsg, ViewChangeMsg } from '../core/messages.ts';
import type { Replica } from '../core/replica.ts';
import { restartReplica } from '../core/restart.ts';
import { ReplicatedState } from '../core/replicated-state.ts';
import { EpochChain } from '../core/epochs.ts';
import { checkViewChange, planNewView, type ViewChangeContext } from '../core/view-change.ts';
import { batchDigest } from '../core/statements.ts';
import { toHex } from '../crypto/bytes.ts';
import { RandomDraws } from '../random/prng.ts';
import type { DurableState } from '../core/durable.ts';
import { defaultTuning, type ByzantineNode, type RandomSource, type RawFrame, type StrategyContext, type StrategyName, type StrategyTuning } from './types.ts';

/** The simulator's draws (pick, shuffle, chance…) over a strategy's `RandomSource`. */
export class Dice extends RandomDraws {
  constructor(private readonly source: RandomSource) {
    super();
  }
  next(): number {
    return this.source.next();
  }
}

/** One send per recipient: `'all'` expanded to every other replica. */
export interface Directed {
  to: ReplicaId;
  message: ReplicaMessage | RequestMsg;
}

/** A proposal some leader really signed, as this node saw it (sent or received). */
export interface KnownProposal {
  view: number;
  slot: number;
  digestHex: string;
  msg: ProposeMsg;
}

export abstract class ByzantineBase implements ByzantineNode {
  readonly honest = false as const;
  abstract readonly strategy: StrategyName;
  readonly id: ReplicaId;
  readonly n: number;
  readonly params: ProtocolParams;
  readonly quorums: Quorums;
  readonly tuning: StrategyTuning;
  /** Signs and verifies with this replica's real key (independent of the embedded replica's lifetime). */
  readonly auth: Auth;
  readonly dice: Dice;
  /** Ticks since this incarnation started. */
  protected now = 0;
  private rawFrames: RawFrame[] = [];

  constructor(protected readonly ctx: StrategyContext) {
    this.id = ctx.id;
    this.n = ctx.config.n;
    this.params = { ...defaultParams, ...ctx.params };
    this.quorums = quorums(ctx.config.n, ctx.config.f);
    this.tuning = { ...defaultTuning, ...ctx.tuning };
    this.auth = new Auth(ctx.config, ctx.signer, ctx.verifier);
    this.dice = new Dice(ctx.random);
  }

  abstract step(input: Input): Outputs;
  abstract get view(): number;
  abstract get executed(): number;

  takeRawFrames(): RawFrame[] {
    const r = this.rawFrames;
    this.rawFrames = [];
    return r;
  }

  protected raw(to: ReplicaId | 'all', frame: Uint8Array): void {
    this.rawFrames.push({ to, frame });
  }

  get others(): ReplicaId[] {
    return this.ctx.config.replicas.map((r) => r.id).filter((r) => r !== this.id);
  }

  leaderOf(view: number): ReplicaId {
    return leaderOf(view, this.ctx.config);
  }

  /** A fresh honest replica with this node's key, resuming from `durable` if given, and its restart outputs. */
  protected buildReplica(durable: DurableState | undefined): { replica: Replica; outputs: Outputs } {
    const { config, params, signer, verifier } = this.ctx;
    return restartReplica({ id: this.id, config, params, signer, verifier, app: (this.ctx.app ?? kvStoreFactory)() }, durable);
  }

  /** Signs a PROPOSE for (view, slot, batch) — a real leader signature only when this node leads `view`. */
  protected signPropose(view: number, slot: number, batch: Batch): ProposeMsg {
    return { type: 'propose', view, slot, batch, sig: this.auth.signVote('accept', view, slot, batchDigest(batch)) };
  }

  private vcCtx: ViewChangeContext | undefined;

  /** The digest of the genesis state (a fresh application with the genesis configuration). */
  get genesisDigest(): Digest {
    return new ReplicatedState((this.ctx.app ?? kvStoreFactory)(), this.ctx.config).digest();
  }

  /** What an honest replica of the genesis epoch checks VIEW-CHANGEs against. */
  get vcContext(): ViewChangeContext {
    if (!this.vcCtx) {
      const chain = new EpochChain({ config: this.ctx.config, activatedAt: 0 }, this.auth, this.genesisDigest);
      this.vcCtx = { auth: this.auth, quorums: this.quorums, window: this.params.window, epochStart: 0, checkCheckpoint: (cert) => chain.checkCheckpoint(cert) };
    }
    return this.vcCtx;
  }

  /** True if an honest replica would accept `vc` as valid. */
  protected validViewChange(vc: ViewChangeMsg): boolean {
    return checkViewChange(vc, this.vcContext) === null;
  }

  /** Re-signs a VIEW-CHANGE of this node after its content was changed. */
  protected signViewChange(vc: Omit<ViewChangeMsg, 'sig' | 'type'>): ViewChangeMsg {
    const body = { newView: vc.newView, from: vc.from, checkpoint: vc.checkpoint, slots: vc.slots, batches: vc.batches };
    return { type: 'view-change', ...body, sig: this.auth.sign(this.auth.statements.viewChange(body)) };
  }

  /** Signs a NEW-VIEW over exactly these VIEW-CHANGEs and proposals (valid or not: the caller decides). */
  protected signNewView(view: number, viewChanges: ViewChangeMsg[], proposals: ProposeMsg[]): NewViewMsg {
    const body = { view, viewChanges, proposals };
    return { type: 'new-view', ...body, sig: this.auth.sign(this.auth.statements.newView(body)) };
  }

  /** The NEW-VIEW a correct leader of `view` would build from these (already checked) VIEW-CHANGEs. */
  protected validNewView(view: number, vcs: ViewChangeMsg[]): NewViewMsg | undefined {
    const plan = planNewView(vcs, this.quorums.tau);
    if ('error' in plan) return undefined;
    const proposals = plan.slots.map((p) => ({ type: 'propose' as const, view, slot: p.slot, batch: p.batch, sig: this.auth.signVote('accept', view, p.slot, p.digest) }));
    return this.signNewView(view, vcs, proposals);
  }

  protected accept(view: number, slot: number, digest: Digest): ReplicaMessage {
    return { type: 'accept', view, slot, digest, from: this.id, sig: this.auth.signVote('accept', view, slot, digest) };
  }

  protected commit(view: number, slot: number, digest: Digest): ReplicaMessage {
    return { type: 'commit', view, slot, digest, from: this.id, sig: this.auth.signVote('commit', view, slot, digest) };
  }
}

/**
 * A strategy built around an embedded honest replica. Subclasses override `onInput` (look at,
 * swallow or doctor what comes in) and `rewrite` (change what goes out).
 */
export abstract class WrappedReplica extends ByzantineBase {
  protected inner: Replica;
  /** Client requests seen (from clients, relays or proposals): material for valid alternative batches. */
  protected readonly seenRequests: ClientRequest[] = [];
  /** Proposals seen, by slot (bounded to the window above the low watermark). */
  protected readonly proposals = new Map<number, KnownProposal[]>();

  /** What the embedded replica produced while starting, until `takeStartOutputs` takes it. */
  private started: Outputs | undefined;

  constructor(ctx: StrategyContext) {
    super(ctx);
    const { replica, outputs } = this.buildReplica(ctx.durable);
    this.inner = replica;
    this.started = outputs;
  }

  get view(): number {
    return this.inner.view;
  }

  get executed(): number {
    return this.inner.executed;
  }

  /** True if the embedded replica leads its current, installed view. */
  get leading(): boolean {
    return this.inner.isLeader;
  }

  takeStartOutputs(): Outputs {
    const out = this.started ?? emptyOutputs();
    this.started = undefined;
    return this.rewrite(out, undefined);
  }

  step(input: Input): Outputs {
    if (input.kind === 'tick') this.now++;
    this.observe(input);
    const fed = this.onInput(input);
    const out = fed === false ? emptyOutputs() : this.inner.step(fed === true ? input : fed);
    for (const s of out.send) if (s.message.type === 'propose') this.noteProposal(s.message);
    return this.rewrite(out, input);
  }

  /** Returns true to feed the input to the replica unchanged, false to swallow it, or a replacement. */
  protected onInput(_input: Input): boolean | Input {
    return true;
  }

  /** Rewrites what the replica produced for `input` (undefined: while restoring). */
  protected rewrite(out: Outputs, _input: Input | undefined): Outputs {
    return out;
  }

  private observe(input: Input): void {
    if (input.kind === 'request') this.noteRequest(input.message.request);
    if (input.kind !== 'message') return;
    const m = input.message;
    if (m.type === 'propose') this.noteProposal(m);
    if (m.type === 'new-view') for (const p of m.proposals) this.noteProposal(p);
  }

  protected noteRequest(r: ClientRequest): void {
    if (this.seenRequests.some((x) => x.clientId === r.clientId && x.ts === r.ts)) return;
    this.seenRequests.push(r);
    if (this.seenRequests.length > 32) this.seenRequests.shift();
  }

  /** Records a proposal only if its leader really signed it (so it can serve as evidence). */
  protected noteProposal(p: ProposeMsg): void {
    const digest = batchDigest(p.batch);
    const digestHex = toHex(digest);
    const known = this.proposals.get(p.slot) ?? [];
    if (known.some((k) => k.view === p.view && k.digestHex === digestHex)) return;
    if (!this.auth.verifyProposal(p.view, p.slot, digest, p.sig)) return;
    known.push({ view: p.view, slot: p.slot, digestHex, msg: p });
    this.proposals.set(p.slot, known);
    for (const r of p.batch) this.noteRequest(r);
    const low = this.inner.lowWatermark;
    if (this.proposals.size > 4 * this.params.window) for (const s of this.proposals.keys()) if (s <= low) this.proposals.delete(s);
  }

  /**
   * A valid batch different from `batch` (client signatures intact, no client twice): the reverse
   * order, or one request fewer, or for an empty batch a request seen earlier. Undefined if none.
   */
  protected alternativeBatch(batch: Batch): Batch | undefined {
    if (batch.length >= 2) return [...batch].reverse();
    if (batch.length === 1) return [];
    const r = this.seenRequests[this.seenRequests.length - 1];
    return r ? [r] : undefined;
  }

  /** Every send of `out`, one per recipient. */
  protected directed(sends: Send[]): Directed[] {
    const out: Directed[] = [];
    for (const s of sends) {
      if (s.to === 'all') for (const to of this.others) out.push({ to, message: s.message });
      else out.push({ to: s.to, message: s.message });
    }
    return out;
  }
}

export function digestHex(batch: Batch): string {
  return toHex(batchDigest(batch));
}

/**
 * The client side of the transport: dials every replica (reconnecting with back-off), proves the
 * client's identity with the same handshake replicas use, checks each replica's identity, and
 * delivers replica frames tagged with the replica that sent them. Dialling starts at construction.
 */
import type { Logger } from 'pino';
import { PeerDirectory, type NetMembers } from './members.ts';
import type { Signer } from '../crypto/signer.ts';
import type { SignatureVerifier } from '../crypto/verifier.ts';
import { HandshakeDialler } from './handshake.ts';
import { Heartbeat } from './heartbeat.ts';
import { InboundLimiter } from './inbound-limiter.ts';
import { resolveLimits, type TransportLimits } from './limits.ts';
import { validateFaults, type LinkFaults } from './link-faults.ts';
import { NetLog, type NetEventKind, type NetReason } from './net-log.ts';
import { OutboundLink } from './outbound-link.ts';

export interface ClientTransportOptions {
  config: NetMembers;
  /** `urls[i]` is the endpoint of `config.replicas[i]`; absent: each replica's `address`. */
  urls?: string[];
  /** This client's id (its key must be listed in the cluster). */
  id: number;
  signer: Signer;
  verifier: SignatureVerifier;
  limits?: Partial<TransportLimits>;
  /** Applied to every link to a replica. */
  faults?: LinkFaults;
  logger?: Logger;
}

export class ClientTransport {
  readonly verifier: SignatureVerifier;
  /** Called for each frame from an authenticated replica. */
  onFrame: (from: number, frame: Uint8Array) => void = () => undefined;
  readonly limits: TransportLimits;
  private readonly log: NetLog;
  private readonly links = new Map<number, OutboundLink>();
  private readonly heartbeat: Heartbeat;
  private readonly waiters = new Set<() => void>();
  private readonly peers: PeerDirectory;
  private readonly dialler: HandshakeDialler;
  private faults: LinkFaults;
  private closing: Promise<void> | undefined;

  constructor(opts: ClientTransportOptions) {
    const { config, urls, id, signer, verifier } = opts;
    if (urls && urls.length !== config.replicas.length) throw new Error(`${urls.length} replica URLs for ${config.replicas.length} replicas`);
    this.verifier = verifier;
    this.limits = resolveLimits(opts.limits);
    this.log = new NetLog(opts.logger);
    this.heartbeat = new Heartbeat(this.limits.pingIntervalMs, this.log);
    this.faults = validateFaults(opts.faults ?? {});
    this.peers = new PeerDirectory(urls ? { ...config, replicas: config.replicas.map((r, i) => ({ ...r, address: urls[i]! })) } : config);
    this.dialler = new HandshakeDialler(this.peers, { role: 'client', id }, signer, verifier);
    this.syncLinks();
  }

  /**
   * Follows a membership change: dials the replicas of `config` not dialled yet and closes the
   * links to replicas no longer in it.
   */
  setMembers(config: NetMembers): void {
    if (this.closing) return;
    this.peers.update([config]);
    this.syncLinks();
  }

  private syncLinks(): void {
    const wanted = new Set(this.peers.replicaIds());
    for (const [r, link] of this.links) {
      if (wanted.has(r) && this.peers.addressOf(r) === link.url) continue;
      this.links.delete(r);
      void link.close();
    }
    const limits = this.limits;
    for (const r of wanted) {
      const url = this.peers.addressOf(r);
      if (this.links.has(r) || !url) continue;
      const link = new OutboundLink({
        url,
        server: r,
        dialler: this.dialler,
        limits,
        log: this.log,
        heartbeat: this.heartbeat,
        faults: this.faults,
        // A Byzantine replica must not flood a client either: replies are bounded like requests.
        receive: { maxFrameBytes: limits.maxClientFrameBytes, limiter: () => InboundLimiter.forReplica(limits), onFrame: (frame) => this.deliver(r, frame) },
        onUp: () => this.notify(),
      });
      this.links.set(r, link);
      link.start();
    }
  }

  /** Drop reasons, handshake rejections and disconnects, by reason. */
  get counters(): ReadonlyMap<NetReason, number> {
    return this.log.counters;
  }

  /** Counts by kind; `refused` is everything peers sent that this transport refused. */
  get countsByKind(): Readonly<Record<NetEventKind, number>> {
    return this.log.byKind;
  }

  /** Resolves with the number of connected replicas as soon as it reaches `need`, or at the timeout. */
  waitForConnections(need: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        const n = this.connected().length;
        if (n < need && !this.closing) return;
        finish();
      };
      const finish = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(check);
        resolve(this.connected().length);
      };
      this.waiters.add(check);
      timer = setTimeout(finish, timeoutMs);
      check();
    });
  }

  /** `'all'` = every replica. Never throws. */
  send(to: number | 'all', frame: Uint8Array): void {
    try {
      if (to === 'all') {
        for (const link of this.links.values()) link.send(frame);
        return;
      }
      const link = this.links.get(to);
      if (!link) return this.log.event('drop: bad destination', { to });
      link.send(frame);
    } catch (e) {
      this.log.event('drop: send error', { to, err: (e as Error).message }, 'error');
    }
  }

  /** Replicas with an authenticated link (sorted). */
  connected(): number[] {
    return [...this.links.values()].filter((l) => l.isUp()).map((l) => l.server).sort((a, b) => a - b);
  }

  /** Replaces the emulated faults of the link to `replica` (or every link). */
  setLinkFaults(replica: number | 'all', faults: LinkFaults): void {
    const f = validateFaults(faults);
    if (replica === 'all') this.faults = f;
    for (const link of this.links.values()) if (replica === 'all' || link.server === replica) link.setFaults(f);
  }

  /** Closes every link and stops reconnecting. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.heartbeat.stop();
      await Promise.all([...this.links.values()].map((l) => l.close()));
      for (const w of [...this.waiters]) w();
    })();
    return this.closing;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private deliver(from: number, frame: Uint8Array): void {
    try {
      this.onFrame(from, frame);
    } catch (e) {
      this.log.event('frame handler threw', { from, err: e }, 'error');
    }
  }
}

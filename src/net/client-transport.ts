/**
 * The client side of the transport: dials every replica (reconnecting with back-off), proves the
 * client's identity with the same handshake replicas use, checks each replica's identity, and
 * delivers replica frames tagged with the replica that sent them. Dialling starts at construction.
 */
import type { Logger } from 'pino';
import type { NetMembers } from './members.ts';
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
  urls: string[];
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
  private readonly links: OutboundLink[] = [];
  private readonly heartbeat: Heartbeat;
  private readonly waiters = new Set<() => void>();
  private closing: Promise<void> | undefined;

  constructor(opts: ClientTransportOptions) {
    const { config, urls, id, signer, verifier } = opts;
    if (urls.length !== config.n) throw new Error(`${urls.length} replica URLs for n=${config.n}`);
    this.verifier = verifier;
    this.limits = resolveLimits(opts.limits);
    this.log = new NetLog(opts.logger);
    this.heartbeat = new Heartbeat(this.limits.pingIntervalMs, this.log);
    const faults = validateFaults(opts.faults ?? {});
    const dialler = new HandshakeDialler(config, { role: 'client', id }, signer, verifier);
    const limits = this.limits;
    for (let r = 0; r < config.n; r++) {
      const link = new OutboundLink({
        url: urls[r]!,
        server: r,
        dialler,
        limits,
        log: this.log,
        heartbeat: this.heartbeat,
        faults,
        // A Byzantine replica must not flood a client either: replies are bounded like requests.
        receive: { maxFrameBytes: limits.maxClientFrameBytes, limiter: () => InboundLimiter.forReplica(limits), onFrame: (frame) => this.deliver(r, frame) },
        onUp: () => this.notify(),
      });
      this.links.push(link);
    }
    for (const link of this.links) link.start();
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
        for (const link of this.links) link.send(frame);
        return;
      }
      const link = this.links[to];
      if (!link) return this.log.event('drop: bad destination', { to });
      link.send(frame);
    } catch (e) {
      this.log.event('drop: send error', { to, err: (e as Error).message }, 'error');
    }
  }

  /** Replicas with an authenticated link (sorted). */
  connected(): number[] {
    return this.links.filter((l) => l.isUp()).map((l) => l.server);
  }

  /** Replaces the emulated faults of the link to `replica` (or every link). */
  setLinkFaults(replica: number | 'all', faults: LinkFaults): void {
    const f = validateFaults(faults);
    for (const link of this.links) if (replica === 'all' || link.server === replica) link.setFaults(f);
  }

  /** Closes every link and stops reconnecting. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.heartbeat.stop();
      await Promise.all(this.links.map((l) => l.close()));
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

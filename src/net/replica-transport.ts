/**
 * The WebSocket transport of one replica.
 *
 * Mesh: every replica dials every other replica and SENDS only on its dialled (outbound) link; it
 * RECEIVES replica frames only on accepted (inbound) connections. Two sockets per pair, but no
 * tie-breaking and no race between simultaneous dials: each side owns the direction it sends in,
 * and reconnects it on its own. Clients dial every replica; a replica replies on that client's
 * latest inbound connection.
 *
 * Every connection is mutually authenticated (handshake.ts) before any frame crosses it, so
 * `onReplicaFrame(from, …)` and `onClientFrame(clientId, …)` name the proven sender. Frames are
 * opaque bytes (already encoded and signed); the transport never decodes them. Delivery is best
 * effort: frames to a peer without a live link, beyond a peer's queue cap, or above a peer's
 * inbound rate are dropped and counted; the protocol retransmits what matters (STATUS).
 */
import type { Logger } from 'pino';
import { PeerDirectory, type NetMembers } from './members.ts';
import type { Signer } from '../crypto/signer.ts';
import type { SignatureVerifier } from '../crypto/verifier.ts';
import { HandshakeDialler, HandshakeServer } from './handshake.ts';
import { Heartbeat } from './heartbeat.ts';
import { resolveLimits, type TransportLimits } from './limits.ts';
import { validateFaults, type LinkFaults } from './link-faults.ts';
import { Listener, type InboundConnection } from './listener.ts';
import { NetLog, type NetEventKind, type NetReason } from './net-log.ts';
import { OutboundLink } from './outbound-link.ts';
import { CLOSE, listenAddress } from './ws-util.ts';

export { defaultTransportLimits, type TransportLimits } from './limits.ts';
export type { LinkFaults } from './link-faults.ts';

export interface ReplicaTransportOptions {
  /** The configuration(s) whose replicas to dial and whose replicas and clients to let in. */
  config: NetMembers | readonly NetMembers[];
  /**
   * `urls[i]` is the endpoint of `config.replicas[i]` (for configurations without addresses);
   * otherwise each replica's `address` is used.
   */
  urls?: string[];
  /** Where this replica listens (default: its own address in the configuration). */
  listenUrl?: string;
  id: number;
  signer: Signer;
  verifier: SignatureVerifier;
  logger: Logger;
  limits?: Partial<TransportLimits>;
  /** Applied to every outgoing replica link (not to replies to clients). */
  faults?: LinkFaults;
  /** Listen on this host instead of the one in `urls[id]` (e.g. 0.0.0.0 behind NAT). */
  listenHost?: string;
}

export class ReplicaTransport {
  /** Called for each frame from an authenticated replica. */
  onReplicaFrame: (from: number, frame: Uint8Array) => void = () => undefined;
  /** Called for each frame from an authenticated client. */
  onClientFrame: (clientId: number, frame: Uint8Array) => void = () => undefined;
  readonly limits: TransportLimits;
  private readonly log: NetLog;
  private readonly links = new Map<number, OutboundLink>();
  private readonly inboundReplicas = new Map<number, InboundConnection>();
  private readonly inboundClients = new Map<number, InboundConnection>();
  private readonly listener: Listener;
  private readonly heartbeat: Heartbeat;
  private readonly peers: PeerDirectory;
  private readonly dialler: HandshakeDialler;
  /** Faults for links made later (setLinkFaults('all') changes them too), and per peer. */
  private faults: LinkFaults;
  private readonly peerFaults = new Map<number, LinkFaults>();
  /** Signs this replica's handshakes; replaced when its key rotates (setSigner). */
  private signer: Signer;
  private started = false;
  /** The connections corked by the `batch` running now, if one is. */
  private corked: Set<{ cork(on: boolean): void }> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ReplicaTransportOptions) {
    const { id, verifier } = opts;
    if (!Number.isInteger(id) || id < 0) throw new Error(`replica id ${id} is not a non-negative integer`);
    this.signer = opts.signer;
    this.peers = new PeerDirectory(withUrls(opts.config, opts.urls));
    const listenUrl = opts.listenUrl ?? this.peers.addressOf(id);
    if (!listenUrl) throw new Error(`replica ${id} has no address in the configuration and no listen URL was given`);
    this.limits = resolveLimits(opts.limits);
    this.log = new NetLog(opts.logger);
    this.heartbeat = new Heartbeat(this.limits.pingIntervalMs, this.log);
    this.faults = validateFaults(opts.faults ?? {});
    const signer = { sign: (m: Uint8Array) => this.signer.sign(m) };
    this.dialler = new HandshakeDialler(this.peers, { role: 'replica', id }, signer, verifier);
    this.syncLinks();
    const { host, port } = listenAddress(listenUrl);
    this.listener = new Listener({
      host: opts.listenHost ?? host,
      port,
      handshake: new HandshakeServer(this.peers, id, signer, verifier),
      limits: this.limits,
      log: this.log,
      heartbeat: this.heartbeat,
      onAdmit: (c) => this.onAdmit(c),
      onFrame: (c, frame) => this.onFrame(c, frame),
      onClose: (c) => this.onClose(c),
    });
  }

  /** Drop reasons, handshake rejections and disconnects, by reason (always counted). */
  get counters(): ReadonlyMap<NetReason, number> {
    return this.log.counters;
  }

  /** Counts by kind; `refused` is everything peers sent that this transport refused. */
  get countsByKind(): Readonly<Record<NetEventKind, number>> {
    return this.log.byKind;
  }

  /**
   * Follows a membership change: dials the replicas of `configs` it does not dial yet, closes the
   * links and connections of replicas and clients no longer in any of them, and lets in only
   * their keys from now on. Links to replicas that stay are kept as they are.
   */
  setMembers(configs: readonly NetMembers[]): void {
    if (this.closing) return;
    this.peers.update(configs);
    this.syncLinks();
    for (const [id, conn] of this.inboundReplicas) if (this.peers.keysOfReplica(id).length === 0) conn.close(CLOSE.policy, 'no longer a member');
    for (const [id, conn] of this.inboundClients) if (!this.peers.hasClient(id)) conn.close(CLOSE.policy, 'no longer a client');
  }

  /** Handshakes from now on are signed with `signer` (after this replica's key rotated). */
  setSigner(signer: Signer): void {
    this.signer = signer;
  }

  /** How many replicas `send('all', …)` reaches (every known replica but itself). */
  get peerCount(): number {
    return this.links.size;
  }

  /** Replicas this transport dials (every known replica but itself), sorted. */
  knownPeers(): number[] {
    return [...this.links.keys()].sort((a, b) => a - b);
  }

  private syncLinks(): void {
    const wanted = new Set(this.peers.replicaIds().filter((r) => r !== this.opts.id));
    for (const [peer, link] of this.links) {
      const url = this.peers.addressOf(peer);
      if (wanted.has(peer) && url === link.url) continue;
      this.links.delete(peer);
      void link.close();
    }
    for (const peer of wanted) {
      if (this.links.has(peer)) continue;
      const url = this.peers.addressOf(peer);
      if (!url) {
        this.log.event('drop: bad destination', { to: peer, why: 'no address' });
        continue;
      }
      const link = new OutboundLink({ url, server: peer, dialler: this.dialler, limits: this.limits, log: this.log, heartbeat: this.heartbeat, faults: this.peerFaults.get(peer) ?? this.faults });
      this.links.set(peer, link);
      if (this.started) link.start();
    }
  }

  /** Listens on urls[id], then starts dialling every other replica. */
  async start(): Promise<void> {
    if (this.closing) throw new Error('transport is closed');
    if (this.started) throw new Error('transport already started');
    this.started = true;
    await this.listener.start();
    for (const link of this.links.values()) link.start();
  }

  /**
   * Runs `send` with the writes of every connection it sends on held, then releases them: the
   * frames leave in one system call per connection (see corkSocket). Only connections actually
   * sent on are corked: corking all of them (every peer and every client) for every batch, most of
   * which send to one or two, cost more than the system calls it saved once clients are many.
   */
  batch(send: () => void): void {
    if (this.corked) return send();
    const corked = (this.corked = new Set());
    try {
      send();
    } finally {
      this.corked = undefined;
      for (const c of corked) c.cork(false);
    }
  }

  /** Inside `batch`: holds this connection's writes until the batch ends. */
  private hold(c: { cork(on: boolean): void }): void {
    if (!this.corked || this.corked.has(c)) return;
    this.corked.add(c);
    c.cork(true);
  }

  /** `'all'` = every other replica. Never throws. */
  send(to: number | 'all', frame: Uint8Array): void {
    try {
      if (to === 'all') {
        for (const link of this.links.values()) {
          this.hold(link);
          link.send(frame);
        }
        return;
      }
      const link = this.links.get(to);
      if (!link) return this.log.event('drop: bad destination', { to });
      this.hold(link);
      link.send(frame);
    } catch (e) {
      this.log.event('drop: send error', { to, err: (e as Error).message }, 'error');
    }
  }

  /** Sends on the client's latest authenticated connection; dropped if it has none. Never throws. */
  sendToClient(clientId: number, frame: Uint8Array): void {
    try {
      const conn = this.inboundClients.get(clientId);
      if (!conn) return this.log.event('drop: client not connected', { client: clientId });
      this.hold(conn);
      const r = conn.send(frame);
      if (r === 'full') this.log.event('drop: send buffer full', { client: clientId });
      else if (r === 'closed') this.log.event('drop: client not connected', { client: clientId });
    } catch (e) {
      this.log.event('drop: send error', { client: clientId, err: (e as Error).message }, 'error');
    }
  }

  /** Replicas with an authenticated outbound link (sorted). */
  connectedPeers(): number[] {
    return [...this.links.values()].filter((l) => l.isUp()).map((l) => l.server).sort((a, b) => a - b);
  }

  /** Replicas with an authenticated inbound connection to us (sorted). */
  inboundPeers(): number[] {
    return [...this.inboundReplicas.keys()].sort((a, b) => a - b);
  }

  /** Clients with an authenticated connection (sorted). */
  connectedClients(): number[] {
    return [...this.inboundClients.keys()].sort((a, b) => a - b);
  }

  /**
   * Replaces the emulated faults of the link to `peer` (or every link); `{}` heals it. Faults for
   * a replica not dialled now (not yet a member, or no longer one) apply if a link to it is made.
   */
  setLinkFaults(peer: number | 'all', faults: LinkFaults): void {
    const f = validateFaults(faults);
    if (peer === 'all') {
      this.faults = f;
      this.peerFaults.clear();
      for (const link of this.links.values()) link.setFaults(f);
      return;
    }
    this.peerFaults.set(peer, f);
    this.links.get(peer)?.setFaults(f);
  }

  /** Bytes waiting to leave towards `peer` (socket buffer plus emulated delay). */
  queuedBytes(peer: number): number {
    return this.links.get(peer)?.queuedBytes ?? 0;
  }

  /** Closes the listener, every socket and every reconnect timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.heartbeat.stop();
      await Promise.all([this.listener.close(), ...[...this.links.values()].map((l) => l.close())]);
      this.inboundReplicas.clear();
      this.inboundClients.clear();
    })();
    return this.closing;
  }

  private onAdmit(conn: InboundConnection): void {
    const map = conn.peer.role === 'replica' ? this.inboundReplicas : this.inboundClients;
    const older = map.get(conn.peer.id);
    map.set(conn.peer.id, conn);
    if (older) {
      // A reconnecting peer's previous socket may still look open (half-dead); one per peer is enough.
      this.log.event('close: superseded by a newer connection', { role: conn.peer.role, id: conn.peer.id }, 'info');
      older.close(CLOSE.superseded, 'superseded by a newer connection');
    }
  }

  private onClose(conn: InboundConnection): void {
    const map = conn.peer.role === 'replica' ? this.inboundReplicas : this.inboundClients;
    if (map.get(conn.peer.id) === conn) map.delete(conn.peer.id);
  }

  private onFrame(conn: InboundConnection, frame: Uint8Array): void {
    try {
      if (conn.peer.role === 'replica') this.onReplicaFrame(conn.peer.id, frame);
      else this.onClientFrame(conn.peer.id, frame);
    } catch (e) {
      // A throwing handler must not take the socket's event loop down with it.
      this.log.event('frame handler threw', { role: conn.peer.role, id: conn.peer.id, err: e }, 'error');
    }
  }
}

/** The configurations with `urls[i]` as the address of their i-th replica, where given. */
function withUrls(config: NetMembers | readonly NetMembers[], urls: string[] | undefined): NetMembers[] {
  const list = Array.isArray(config) ? [...(config as readonly NetMembers[])] : [config as NetMembers];
  if (!urls) return list;
  return list.map((c) => {
    if (urls.length !== c.replicas.length) throw new Error(`${urls.length} replica URLs for ${c.replicas.length} replicas`);
    return { ...c, replicas: c.replicas.map((r, i) => ({ ...r, address: urls[i]! })) };
  });
}

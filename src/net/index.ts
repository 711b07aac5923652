export { ReplicaTransport, type ReplicaTransportOptions } from './replica-transport.ts';
export { ClientTransport, type ClientTransportOptions } from './client-transport.ts';
export { defaultTransportLimits, resolveLimits, type TransportLimits } from './limits.ts';
export type { LinkFaults } from './link-faults.ts';
export { HandshakeDialler, HandshakeServer, type PeerIdentity, type Role, type HandshakeFailure } from './handshake.ts';

/**
 * Admission of inbound frames on one authenticated connection: a frames-per-second and a
 * bytes-per-second token bucket, and flood detection. Excess frames are dropped (the protocol
 * retransmits what matters through STATUS); a peer that keeps exceeding its rate by a wide margin
 * is disconnected, so it stops costing even the parsing of its frames.
 */
import type { TransportLimits } from './limits.ts';
import { TokenBucket } from './token-bucket.ts';

export type Admission = 'deliver' | 'drop' | 'disconnect';

export class InboundLimiter {
  private readonly msgs: TokenBucket;
  private readonly bytes: TokenBucket;
  private windowStart: number;
  private dropsInWindow = 0;

  constructor(
    msgsPerSec: number,
    msgBurst: number,
    bytesPerSec: number,
    bytesBurst: number,
    private readonly floodDropsPerSec: number,
    now: number = performance.now(),
  ) {
    this.msgs = new TokenBucket(msgsPerSec, msgBurst, now);
    this.bytes = new TokenBucket(bytesPerSec, bytesBurst, now);
    this.windowStart = now;
  }

  static forReplica(l: TransportLimits): InboundLimiter {
    return new InboundLimiter(l.replicaMsgsPerSec, l.replicaMsgBurst, l.replicaBytesPerSec, l.replicaBytesBurst, l.floodDropsPerSec);
  }

  static forClient(l: TransportLimits): InboundLimiter {
    return new InboundLimiter(l.clientMsgsPerSec, l.clientMsgBurst, l.clientBytesPerSec, l.clientBytesBurst, l.floodDropsPerSec);
  }

  admit(frameBytes: number, now: number = performance.now()): Admission {
    // Both buckets must pass; checking bytes only after a frame token was granted means a dropped
    // frame may still consume a frame token, which only makes a flooder's life harder.
    if (this.msgs.take(1, now) && this.bytes.take(frameBytes, now)) return 'deliver';
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.dropsInWindow = 0;
    }
    this.dropsInWindow++;
    return this.dropsInWindow >= this.floodDropsPerSec ? 'disconnect' : 'drop';
  }
}

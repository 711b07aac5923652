/** One-line descriptions of messages, for traces and logs. */
import { toHex } from '../crypto/bytes.ts';
import type { Message } from './messages.ts';

const short = (d: Uint8Array) => toHex(d).slice(0, 6);

export function describeMessage(m: Message): string {
  switch (m.type) {
    case 'request':
      return `REQUEST c${m.request.clientId}:${m.request.ts}`;
    case 'propose':
      return `PROPOSE v${m.view} s${m.slot} [${m.batch.map((r) => `c${r.clientId}:${r.ts}`).join(' ')}]`;
    case 'accept':
      return `ACCEPT v${m.view} s${m.slot} ${short(m.digest)}`;
    case 'commit':
      return `COMMIT v${m.view} s${m.slot} ${short(m.digest)}`;
    case 'checkpoint':
      return `CHECKPOINT ${m.seq} ${short(m.stateDigest)}`;
    case 'view-change':
      return `VIEW-CHANGE v${m.newView} h=${m.checkpoint.seq} slots=${m.slots.map((e) => e.slot).join(',')}`;
    case 'new-view':
      return `NEW-VIEW v${m.view} from=[${m.viewChanges.map((vc) => vc.from).join(',')}] ${m.proposals.map((p) => `s${p.slot}:${p.batch.length}`).join(' ')}`;
    case 'reply':
      return `REPLY c${m.clientId}:${m.ts} s${m.slot} v${m.view}`;
    case 'status':
      return `STATUS v${m.view} exec=${m.executed} h=${m.stable}`;
    case 'decision':
      return `DECISION s${m.cert.slot} v${m.cert.view} ${short(m.cert.digest)}`;
    case 'state':
      return `STATE ${m.checkpoint.seq} ${m.snapshot.length}B`;
    case 'config-query':
      return `CONFIG-QUERY since ${m.since}`;
    case 'config-proof':
      return `CONFIG-PROOF ${m.links.length} link(s)`;
  }
}

/** Every strategy on replica 1, a backup (and the leader of view 1 once the first leader goes; see sweep-suite.ts). */
import { describe } from 'vitest';
import { strategySweeps } from './sweep-suite.ts';

describe('one Byzantine replica, n=4 f=1: a backup (next leader)', () => strategySweeps(1, 'backup, leader of view 1'));

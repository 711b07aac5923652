/** Every strategy on replica 0, the leader of view 0 (see sweep-suite.ts). */
import { describe } from 'vitest';
import { strategySweeps } from './sweep-suite.ts';

describe('one Byzantine replica, n=4 f=1: the view-0 leader', () => strategySweeps(0, 'leader of view 0'));

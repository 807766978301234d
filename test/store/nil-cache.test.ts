/** NilCache, the store that keeps nothing, held to the MoteCache contract for such a store (`keepsContent: false`). */
import { NilCache } from '../../src/index.js';
import { moteCacheConformance } from '../conformance/mote-cache.js';

moteCacheConformance('NilCache', async () => ({ cache: new NilCache(), cleanup: async () => {} }), { keepsContent: false });

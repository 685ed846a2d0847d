import { isNodeWorker, nodeIdentity } from './node-identity';

describe('nodeIdentity', () => {
  it('reads the ids the parent set', () => {
    expect(nodeIdentity({ SECRETHUB_NODE_ID: 'node-a', SECRETHUB_WORKER_ID: '3' })).toEqual({ nodeId: 'node-a', workerId: 3 });
  });

  it('a single process: worker 1 of a random node id, the same for the life of the process', () => {
    const first = nodeIdentity({});
    expect(first.workerId).toBe(1);
    expect(first.nodeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(nodeIdentity({ SECRETHUB_WORKER_ID: 'x' })).toEqual(first);
  });

  it('is no node worker outside node:cluster, whatever the environment says', () => {
    expect(isNodeWorker({ SECRETHUB_WORKER_ID: '2' })).toBe(false);
  });
});

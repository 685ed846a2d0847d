import { requestAuth, type RouteDefinition } from './route';

describe('requestAuth: the authentication of a request, also for an operation the route lacks', () => {
  const handler = async () => null;
  const route = (auth: RouteDefinition['auth'], handlers: RouteDefinition['handlers']): RouteDefinition => ({ path: 'p', auth, help: '', handlers });

  it('a declared operation keeps its own authentication', () => {
    expect(requestAuth(route('sudo', { read: handler }), 'read')).toBe('sudo');
    expect(requestAuth(route({ read: 'none', update: 'sudo' }, { read: handler, update: handler }), 'read')).toBe('none');
    expect(requestAuth(route({ read: 'none' }, { read: handler, delete: handler }), 'delete')).toBe('token');
  });

  it('a missing operation is judged like the route (by the ACL) when the route needs a token', () => {
    expect(requestAuth(route('token', { list: handler }), 'read')).toBe('token');
    expect(requestAuth(route('sudo', { read: handler }), 'update')).toBe('sudo');
    expect(requestAuth(route({ read: 'none', update: 'sudo' }, { read: handler, update: handler }), 'delete')).toBe('token');
  });

  it('a missing operation needs no token when no operation of the route does', () => {
    expect(requestAuth(route('none', { read: handler }), 'update')).toBe('none');
    expect(requestAuth(route('optional', { read: handler }), 'delete')).toBe('none');
    expect(requestAuth(route({ read: 'none', update: 'optional' }, { read: handler, update: handler }), 'list')).toBe('none');
  });

  it('a route that declares no authentication needs a token, for every operation', () => {
    const plain: RouteDefinition = { path: 'p', help: '', handlers: { read: handler } };
    expect([requestAuth(plain, 'read'), requestAuth(plain, 'update')]).toEqual(['token', 'token']);
  });
});

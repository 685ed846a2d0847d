import { parseManagementUri, pathSegment } from './rabbitmq-api';
import { generateUsername } from './rabbitmq.backend';
import { parseRole } from './rabbitmq-role';

describe('rabbitmq management client helpers', () => {
  it('path segments are percent-encoded and dot segments refused', () => {
    expect(pathSegment('/')).toBe('%2F');
    expect(pathSegment('a b/../c')).toBe('a%20b%2F..%2Fc');
    for (const bad of ['', '.', '..']) expect(() => pathSegment(bad)).toThrow('cannot be empty');
  });

  it('connection_uri must be http(s) without credentials, query or fragment', () => {
    expect(parseManagementUri('http://localhost:15672').href).toBe('http://localhost:15672/');
    expect(parseManagementUri('https://mq.example/rabbit').href).toBe('https://mq.example/rabbit/');
    for (const bad of ['localhost:15672', 'amqp://localhost', 'http://u:p@localhost', 'http://localhost?x=1', 'http://localhost#f', 'not a url']) {
      expect(() => parseManagementUri(bad)).toThrow(/connection_uri/);
    }
  });

  it('usernames are v-<role>-<24 random> in [a-z0-9-]', () => {
    expect(generateUsername('My.App_1')).toMatch(/^v-myapp1-[a-z0-9]{24}$/);
    expect(generateUsername('___')).toMatch(/^v-role-[a-z0-9]{24}$/);
  });

  it('roles take vhosts as a JSON string or an object; missing patterns are ""', () => {
    expect(parseRole({ tags: ['a', ' b ', ''], vhosts: '{"/": {"read": ".*"}}' })).toEqual({
      tags: ['a', 'b'],
      vhosts: { '/': { configure: '', write: '', read: '.*' } },
      vhostTopics: {},
    });
    expect(parseRole({ vhosts: { v: { configure: 'x', write: 'y', read: 'z' } }, vhost_topics: '{"v": {"amq.topic": {"write": "w"}}}' }).vhostTopics).toEqual({
      v: { 'amq.topic': { write: 'w', read: '' } },
    });
    expect(() => parseRole({ vhosts: '{"/": {"read": ".*"}' })).toThrow('failed to unmarshal vhosts: not valid JSON');
  });
});

import { QueryAuthorizer, bearerToken, type ReviewedUser, type Reviewer } from './auth.js';

/** The authorizer's own logic (header parsing, caching) with an in-memory reviewer; the API server's side is in query-auth.test.ts. */

function fakeReviewer(tokens: Record<string, ReviewedUser>, allowed: Set<string>) {
  const calls = { authenticate: 0, authorize: 0 };
  const reviewer: Reviewer = {
    authenticate: async (token) => (calls.authenticate++, tokens[token]),
    authorize: async (user) => (calls.authorize++, allowed.has(user.username)),
  };
  return { reviewer, calls };
}

const pipeline = { namespace: 'team-a', name: 'demo' };

test('bearer tokens are read from the Authorization header only in the Bearer scheme', () => {
  expect(bearerToken('Bearer abc.def')).toBe('abc.def');
  expect(bearerToken('bearer   abc ')).toBe('abc');
  expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
  expect(bearerToken('Bearer')).toBeUndefined();
  expect(bearerToken('Bearer a b')).toBeUndefined();
  expect(bearerToken(undefined)).toBeUndefined();
});

test('decisions: 401 without or with an unknown token, 403 without access, allowed with it', async () => {
  const { reviewer } = fakeReviewer({ t1: { username: 'alice' }, t2: { username: 'bob' } }, new Set(['alice']));
  const auth = new QueryAuthorizer(reviewer, { pipeline, ttlMs: 10_000 });
  expect(await auth.decide(undefined)).toMatchObject({ allowed: false, status: 401, code: 'UNAUTHENTICATED' });
  expect(await auth.decide('Bearer nope')).toMatchObject({ allowed: false, status: 401, code: 'UNAUTHENTICATED' });
  expect(await auth.decide('Bearer t2')).toMatchObject({ allowed: false, status: 403, code: 'FORBIDDEN', message: expect.stringContaining('bob may not get adpipelines/query (adpipe.io) of AdPipeline team-a/demo') });
  expect(await auth.decide('Bearer t1')).toEqual({ allowed: true, user: 'alice' });
});

test('answers are reused per token for the TTL, then asked again; failures are not cached', async () => {
  let now = 1_000;
  const { reviewer, calls } = fakeReviewer({ t1: { username: 'alice' } }, new Set(['alice']));
  const auth = new QueryAuthorizer(reviewer, { pipeline, ttlMs: 10_000, now: () => now });
  await auth.decide('Bearer t1');
  await auth.decide('Bearer t1');
  expect(calls).toEqual({ authenticate: 1, authorize: 1 });
  now += 10_001;
  await auth.decide('Bearer t1');
  expect(calls).toEqual({ authenticate: 2, authorize: 2 });

  const failing: Reviewer = { authenticate: () => Promise.reject(new Error('API server away')), authorize: () => Promise.resolve(true) };
  const broken = new QueryAuthorizer(failing, { pipeline, ttlMs: 10_000 });
  await expect(broken.decide('Bearer t1')).rejects.toThrow('API server away');
  await expect(broken.decide('Bearer t1')).rejects.toThrow('API server away');
});

test('the cache holds at most maxEntries tokens, dropping the oldest', async () => {
  const tokens = Object.fromEntries(['a', 'b', 'c'].map((t) => [t, { username: t }]));
  const { reviewer, calls } = fakeReviewer(tokens, new Set(['a', 'b', 'c']));
  const auth = new QueryAuthorizer(reviewer, { pipeline, ttlMs: 60_000, maxEntries: 2 });
  for (const t of ['a', 'b', 'c']) await auth.decide(`Bearer ${t}`);
  expect(calls.authenticate).toBe(3);
  await auth.decide('Bearer c');
  await auth.decide('Bearer b');
  expect(calls.authenticate).toBe(3);
  await auth.decide('Bearer a');
  expect(calls.authenticate).toBe(4);
});

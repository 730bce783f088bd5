// Runs the typed client against a live server (node --test). The Go test
// starts the server and passes PROFILED_URL, PROFILED_ADMIN (a management
// token) and the connection holding the users it created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Login, Me, UpdateMe, ProfiledError, searchAll } from './client.js';

const url = process.env.PROFILED_URL!;
const admin = process.env.PROFILED_ADMIN!;

test('login, me and updateMe', async () => {
  const c = new Client(url);
  const { login } = await c.request(Login, { connection: 'main', email: 'user3@example.com', password: 'correct horse' });
  assert.equal(login.user.email, 'user3@example.com');
  assert.ok(login.expiresIn > 0);
  c.token = login.accessToken;
  const { me } = await c.request(Me, {});
  assert.equal(me?.id, login.user.id);
  const { updateMe } = await c.request(UpdateMe, { userMetadata: { lang: 'fr', theme: { color: 'teal' } } });
  assert.deepEqual(updateMe.userMetadata, { lang: 'fr', theme: { color: 'teal' } });
  const again = await c.request(Me, {});
  assert.deepEqual(again.me?.userMetadata, { lang: 'fr', theme: { color: 'teal' } });
});

test('cursor-paginated search', async () => {
  const c = new Client(url, admin);
  const { emails, pages } = await searchAll(c, 'email:user*', 2);
  assert.deepEqual(emails, ['user1@example.com', 'user2@example.com', 'user3@example.com', 'user4@example.com', 'user5@example.com']);
  assert.equal(pages, 3);
});

test('errors by extensions.code', async () => {
  const c = new Client(url);
  await assert.rejects(c.request(Login, { connection: 'main', email: 'user1@example.com', password: 'wrong password' }),
    (e: unknown) => e instanceof ProfiledError && e.code === 'INVALID_CREDENTIALS');
  await assert.rejects(c.request(Me, {}), (e: unknown) => e instanceof ProfiledError && e.code === 'UNAUTHENTICATED');
  await assert.rejects(new Client(url, admin).request(UpdateMe, { userMetadata: {} }),
    (e: unknown) => e instanceof ProfiledError && e.code === 'FORBIDDEN');
});

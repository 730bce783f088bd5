// A typed Profiled client built on the client preset's output: every
// operation's variables and result are checked by TypeScript against the
// schema. Errors come back as ProfiledError, whose code is the GraphQL
// error's extensions.code, so callers branch on codes, not messages.
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from './gql/index.js';
import type { SearchUsersQuery } from './gql/graphql.js';

export class ProfiledError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
    this.name = 'ProfiledError';
  }
}

export class Client {
  constructor(readonly url: string, public token?: string) {}

  async request<R, V>(doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify({ query: print(doc), variables }) });
    const body = (await res.json()) as { data?: R; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length) {
      const e = body.errors[0];
      throw new ProfiledError(e.extensions?.code ?? 'NO_CODE', e.message, res.status);
    }
    return body.data as R;
  }
}

export const Login = graphql(`
  mutation Login($connection: String!, $email: String!, $password: String!) {
    login(connection: $connection, email: $email, password: $password) {
      accessToken
      expiresIn
      user { id email }
    }
  }
`);

export const Me = graphql(`
  query Me {
    me { id email name userMetadata }
  }
`);

export const UpdateMe = graphql(`
  mutation UpdateMe($userMetadata: JSON!) {
    updateMe(userMetadata: $userMetadata) { id userMetadata }
  }
`);

export const SearchUsers = graphql(`
  query SearchUsers($query: String, $first: Int, $after: String) {
    users(query: $query, first: $first, after: $after, sort: "email:1") {
      totalCount
      edges { cursor node { id email } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

// searchAll follows the cursors page by page and returns every email.
export async function searchAll(c: Client, query: string, pageSize: number): Promise<{ emails: string[]; pages: number }> {
  const emails: string[] = [];
  let after: string | null | undefined = undefined;
  let pages = 0;
  for (;;) {
    const { users }: SearchUsersQuery = await c.request(SearchUsers, { query, first: pageSize, after });
    pages++;
    for (const e of users.edges) if (e.node.email) emails.push(e.node.email);
    if (!users.pageInfo.hasNextPage) return { emails, pages };
    after = users.pageInfo.endCursor;
  }
}

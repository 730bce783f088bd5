// Package client is a typed Go client for Profiled's GraphQL API, generated
// by github.com/Khan/genqlient from the server's schema (graph/*.graphqls)
// and the operations in operations.graphql. Every operation there is a
// function of this package taking a context, a genqlient graphql.Client
// and the operation's variables, and returning the typed response.
//
// # Connecting
//
// The API is served at /graphql by `profiled serve`. Make a
// graphql.Client for that URL with an *http.Client that sends the bearer
// token of the caller:
//
//   - no token: login, signup (public operations);
//   - a user token (the accessToken login returns): the caller's own user
//     (Me, UpdateMe);
//   - a management token (`profiled token create --scope "read:users ..."`, or the
//     managementToken login returns on a connection that grants admin
//     scopes): the management operations, each needing its scopes
//     (read:users for GetUser and ListUsers, create:connections for
//     CreateConnection, ...; the schema's descriptions name them).
//
// # Errors
//
// A refused or failed operation returns an error holding the GraphQL
// errors (a gqlerror.List from github.com/vektah/gqlparser/v2/gqlerror);
// each one's Extensions["code"] is a stable code (UNAUTHENTICATED,
// FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, ...) and Extensions["field"], when
// present, names the input at fault. A transport failure or an HTTP error
// status is returned as it is.
//
// Operations beyond those in operations.graphql: generate a client of your
// own with genqlient against the same schema, or send the query with
// graphql.Client.MakeRequest.
package client

//go:generate go tool genqlient genqlient.yaml

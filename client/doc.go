// Package client is a typed Go client for Profiled's GraphQL API, generated
// by github.com/Khan/genqlient from schema.graphqls and operations.graphql.
// The end-to-end tests use it: it proves that schema-typed code generation
// works on the schema.
package client

//go:generate go tool genqlient genqlient.yaml

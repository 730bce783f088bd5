package main

import (
	"io"

	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/profiled/profiled/internal/graph/generated"
)

// schemaPrint writes the server's GraphQL schema as SDL (the schema the
// binary serves, built from graph/*.graphqls), with its descriptions: for
// code generators and IDEs without a running server.
func schemaPrint(w io.Writer) error {
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	formatter.NewFormatter(w, formatter.WithIndent("  ")).FormatSchema(schema)
	return nil
}

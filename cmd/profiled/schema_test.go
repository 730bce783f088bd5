package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// `profiled schema print` prints SDL that parses to the schema of
// graph/*.graphqls: the same types, fields and descriptions.
func TestSchemaPrint(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"schema", "print"}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	printed, err := gqlparser.LoadSchema(&ast.Source{Name: "printed.graphqls", Input: out.String()})
	if err != nil {
		t.Fatalf("the printed SDL does not parse: %v\n%s", err, out.String())
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "graph", "*.graphqls"))
	if len(files) < 3 {
		t.Fatalf("graph/*.graphqls: %v", files)
	}
	var sources []*ast.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &ast.Source{Name: f, Input: string(b)})
	}
	want, gerr := gqlparser.LoadSchema(sources...)
	if gerr != nil {
		t.Fatal(gerr)
	}
	for name, def := range want.Types {
		if def.BuiltIn {
			continue
		}
		got := printed.Types[name]
		if got == nil {
			t.Errorf("type %s is missing", name)
			continue
		}
		if got.Description != def.Description || len(got.Fields) != len(def.Fields) || len(got.EnumValues) != len(def.EnumValues) {
			t.Errorf("type %s differs: %d fields, want %d; description %q, want %q", name, len(got.Fields), len(def.Fields), got.Description, def.Description)
		}
		for _, f := range def.Fields {
			if g := got.Fields.ForName(f.Name); g == nil || g.Description != f.Description || g.Type.String() != f.Type.String() {
				t.Errorf("%s.%s differs", name, f.Name)
			}
		}
	}
	if len(printed.Types) != len(want.Types) {
		t.Errorf("%d types printed, the files have %d", len(printed.Types), len(want.Types))
	}
}

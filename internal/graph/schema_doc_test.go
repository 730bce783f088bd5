package graph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// TestSchemaIsDescribed: every type, field, argument, input field and enum
// value of the schema files has a description (clients read them in the
// playground and in generated code).
func TestSchemaIsDescribed(t *testing.T) {
	files, err := filepath.Glob("../../graph/*.graphqls")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files found: %v", err)
	}
	checked := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, gerr := parser.ParseSchema(&ast.Source{Name: f, Input: string(src)})
		if gerr != nil {
			t.Fatalf("%s: %v", f, gerr)
		}
		missing := func(where string, desc string) {
			checked++
			if strings.TrimSpace(desc) == "" {
				t.Errorf("%s: %s has no description", filepath.Base(f), where)
			}
		}
		defs := append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...)
		for _, d := range defs {
			extension := false
			for _, e := range doc.Extensions {
				if e == d {
					extension = true
				}
			}
			if !extension { // "extend type Query" has no description of its own
				missing(d.Name, d.Description)
			}
			for _, fd := range d.Fields {
				missing(d.Name+"."+fd.Name, fd.Description)
				for _, a := range fd.Arguments {
					missing(d.Name+"."+fd.Name+"("+a.Name+")", a.Description)
				}
			}
			for _, v := range d.EnumValues {
				missing(d.Name+"."+v.Name, v.Description)
			}
		}
		for _, dir := range doc.Directives {
			missing("@"+dir.Name, dir.Description)
			for _, a := range dir.Arguments {
				missing("@"+dir.Name+"("+a.Name+")", a.Description)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d schema elements checked: is the schema being read?", checked)
	}
}

// Package profiled is the root of the Profiled module. It holds only the
// embedded sources that `profiled script build` needs to compile a customer's
// script offline from any directory (go:embed cannot reach `..`, so the
// embed lives at the module root). Nothing here is imported at run time by
// the server except through package scriptbuild.
package profiled

import "embed"

// GuestSources holds the sources of the packages a script is compiled
// against: abi/ and sdk/ (test files are skipped when materialized). Both
// import only the standard library and each other.
//
//go:embed abi/*.go sdk/*.go
var GuestSources embed.FS

// Templates holds the script templates (templates/NAME/main.go and
// templates/NAME/schema.sql), for `profiled script init`-style commands.
//
//go:embed templates
var Templates embed.FS

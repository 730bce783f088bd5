package frontend

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/testenv"
)

// bin runs a tool installed by npm ci (node_modules/.bin) with env added.
func bin(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	npmCI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("node_modules", ".bin", name), args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
	return out.String()
}

// TestCodegenTypedClient runs GraphQL Code Generator (client preset)
// against the live server's URL and against graph/*.graphqls, checks both
// give the same code, compiles a typed client with TypeScript and runs it
// (login, me, updateMe, a cursor-paginated search, errors by
// extensions.code) against the server with node's test runner.
func TestCodegenTypedClient(t *testing.T) {
	srv := startServer(t, testenv.Options{})
	c := srv.GraphQL(nil)
	q := []string{`mutation { createConnection(input: { name: "main", strategy: DATABASE }) { name } }`}
	for i := 5; i >= 1; i-- {
		q = append(q, fmt.Sprintf(`mutation { createUser(input: { connection: "main", email: "user%d@example.com", password: "correct horse" }) { id } }`, i))
	}
	q = append(q, `mutation { createUser(input: { connection: "main", email: "other@example.com", password: "correct horse" }) { id } }`)
	for _, q := range q {
		if r := c.Query(t, srv.Admin, q, nil); len(r.Errors) > 0 {
			t.Fatal(r.Raw)
		}
	}
	for _, dir := range []string{"dist", "gen-files", filepath.Join("src", "gql")} {
		testenv.NoError(t, os.RemoveAll(dir))
	}
	env := []string{"PROFILED_URL=" + srv.HTTP.URL + "/graphql", "PROFILED_ADMIN=" + srv.Admin, "NODE_NO_WARNINGS=1"}

	bin(t, env, "graphql-codegen", "--config", "codegen.url.ts")
	bin(t, env, "graphql-codegen", "--config", "codegen.files.ts")
	for _, f := range []string{"graphql.ts", "gql.ts"} {
		fromURL, err := os.ReadFile(filepath.Join("src", "gql", f))
		testenv.NoError(t, err)
		fromFiles, err := os.ReadFile(filepath.Join("gen-files", "gql", f))
		testenv.NoError(t, err)
		if !bytes.Equal(fromURL, fromFiles) {
			t.Errorf("%s from the URL and from graph/*.graphqls differ (%d and %d bytes)", f, len(fromURL), len(fromFiles))
		}
	}
	bin(t, env, "tsc", "-p", ".")
	out := node(t, env, "--test", "--test-reporter=spec", filepath.Join("dist", "client.test.js"))
	t.Log(out)
}

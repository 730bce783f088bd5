//go:build slow

// On-demand tests that take minutes: go test -tags slow -v ./reliability/

package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// proc is a `profiled serve` process the test owns.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{}
	url  string
}

func startProc(t *testing.T, bin, db string) *proc {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	mustNoErr(t, err)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", db)
	cmd.Stdout, cmd.Stderr = logf, logf
	mustNoErr(t, cmd.Start())
	p := &proc{t: t, cmd: cmd, done: make(chan struct{}), url: "http://" + addr}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	eventually(t, 60*time.Second, "server health", func() error {
		res, err := http.Get(p.url + "/healthz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	})
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) gql(t *testing.T, token, query string, vars map[string]any, file []byte) gqlResponse {
	t.Helper()
	var body bytes.Buffer
	ctype := "application/json"
	if file == nil {
		b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		body.Write(b)
	} else {
		w := multipart.NewWriter(&body)
		vars["f"] = nil
		ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		_ = w.WriteField("operations", string(ops))
		_ = w.WriteField("map", `{"0": ["variables.f"]}`)
		fw, _ := w.CreateFormFile("0", "users.ndjson")
		_, _ = fw.Write(file)
		_ = w.Close()
		ctype = w.FormDataContentType()
	}
	req, _ := http.NewRequest(http.MethodPost, p.url+"/graphql", &body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	mustNoErr(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out gqlResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not JSON: %.300s", b)
	}
	out.Raw = string(b)
	return out
}

type jobState struct {
	Status                        string
	Total, Done, Inserted, Failed int
	Message                       *string
}

// TestImportKilledMidway (on demand, ~3 minutes): a server is SIGKILLed
// while it imports a large NDJSON file; after a restart on the same store
// the job is never reported completed, is reported FAILED once its record
// goes stale (service.JobStaleAfter), and every user in the store was
// recorded by it (inserted == the users of the connection): no row was
// applied without a record of it.
func TestImportKilledMidway(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "profiled")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/profiled").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := "sqlite:" + filepath.Join(dir, "store.db")
	srv := startProc(t, bin, db)
	tok, err := exec.Command(bin, "token", "create", "--db", db, "--scope", "read:users create:users update:users create:connections").Output()
	mustNoErr(t, err)
	token := strings.TrimSpace(string(tok))
	if r := srv.gql(t, token, `mutation { createConnection(input: {name: "imp", strategy: DATABASE}) { name } }`, nil, nil); len(r.Errors) > 0 {
		t.Fatal(r.Raw)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("imported password"), 4)
	var file bytes.Buffer
	const rows = 150_000
	for i := range rows {
		fmt.Fprintf(&file, `{"email":"i%d@example.com","email_verified":true,"name":"Imported %d","password_hash":%q,"user_metadata":{"n":%d}}`+"\n", i, i, hash, i)
	}
	r := srv.gql(t, token, `mutation($f: Upload!) { importUsers(connection: "imp", file: $f) { id } }`, map[string]any{}, file.Bytes())
	var started struct{ ImportUsers struct{ ID string } }
	if err := json.Unmarshal(r.Data, &started); err != nil || len(r.Errors) > 0 {
		t.Fatalf("importUsers: %s", r.Raw)
	}
	id := started.ImportUsers.ID
	job := func(p *proc) jobState {
		r := p.gql(t, token, `query($id: ID!) { job(id: $id) { status total done inserted failed message } }`, map[string]any{"id": id}, nil)
		var d struct{ Job jobState }
		if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
			t.Fatalf("job: %s", r.Raw)
		}
		return d.Job
	}
	eventually(t, 60*time.Second, "the import under way", func() error {
		j := job(srv)
		if j.Status == "COMPLETED" {
			t.Fatalf("the import of %d rows completed before the kill: make the file larger", rows)
		}
		if j.Status != "RUNNING" || j.Done == 0 {
			return fmt.Errorf("%+v", j)
		}
		return nil
	})
	srv.kill()
	srv = startProc(t, bin, db)
	users := func() int {
		r := srv.gql(t, token, `{ users(query: "") { totalCount } }`, nil, nil)
		var d struct{ Users struct{ TotalCount int } }
		if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
			t.Fatalf("users: %s", r.Raw)
		}
		return d.Users.TotalCount
	}
	after := job(srv)
	t.Logf("after the restart: job %+v, %d users in the store", after, users())
	if after.Status == "COMPLETED" {
		t.Fatalf("a killed import is reported completed: %+v", after)
	}
	var final jobState
	eventually(t, 4*time.Minute, "the killed job reported failed", func() error {
		final = job(srv)
		if final.Status != "FAILED" {
			return fmt.Errorf("%+v", final)
		}
		return nil
	})
	n := users()
	t.Logf("final: job %+v, %d users in the store", final, n)
	if final.Inserted != n {
		t.Fatalf("the store has %d users, the job recorded %d inserted: rows applied without a record", n, final.Inserted)
	}
	if final.Message == nil || *final.Message == "" {
		t.Errorf("a failed job without a message: %+v", final)
	}
}

package reliability

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
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

	"github.com/profiled/profiled/internal/testmysql"
)

// proc is a `profiled serve` process the test owns.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{}
	url  string
}

// jobStaleAfter is the servers' --job-stale-after (default 30s): a killed
// server's job is reported failed 2 s after its last heartbeat (every
// 333 ms while it ran), so the test need not wait long.
const jobStaleAfter = "2s"

func startProc(t *testing.T, bin, db string) *proc {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	mustNoErr(t, err)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", db, "--job-stale-after", jobStaleAfter)
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

func (j jobState) String() string {
	msg := "<nil>"
	if j.Message != nil {
		msg = strconv.Quote(*j.Message)
	}
	return fmt.Sprintf("{%s total %d done %d inserted %d failed %d message %s}", j.Status, j.Total, j.Done, j.Inserted, j.Failed, msg)
}

// TestImportKilledMidway: a server is SIGKILLed while it imports an NDJSON
// file (its recorded progress strictly between 0 and the file's rows);
// after a restart on the same store the job is never reported completed,
// is reported FAILED with a message once its record goes stale (the
// servers run with --job-stale-after 1s), and the store holds exactly the
// users it recorded as inserted — the file's first rows, each whole: no
// row was applied without a record of it, none half-applied.
//
// On MariaDB an import writes two batches at once (service.ImportWriters),
// committing them in order: the same holds there.
func TestImportKilledMidway(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "profiled")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../cmd/profiled").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	t.Run("sqlite", func(t *testing.T) { importKilledMidway(t, bin, "sqlite:"+filepath.Join(t.TempDir(), "store.db")) })
	t.Run("mysql", func(t *testing.T) {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		t.Setenv("PROFILED_SECRET_KEY", base64.StdEncoding.EncodeToString(key)) // a MySQL store seals its secrets
		importKilledMidway(t, bin, testmysql.URL(t))
	})
}

func importKilledMidway(t *testing.T, bin, db string) {
	srv := startProc(t, bin, db)
	tok, err := exec.Command(bin, "token", "create", "--db", db, "--scope", "read:users create:users update:users create:connections").Output()
	mustNoErr(t, err)
	token := strings.TrimSpace(string(tok))
	if r := srv.gql(t, token, `mutation { createConnection(input: {name: "imp", strategy: DATABASE}) { name } }`, nil, nil); len(r.Errors) > 0 {
		t.Fatal(r.Raw)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("imported password"), 4)
	var file bytes.Buffer
	// Enough rows that the import is still going when the test sees its
	// first batches recorded: the kill follows within one poll (the test
	// fails, asking for a larger file, if the import completed first).
	const rows = 60_000
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
	t.Logf("after the restart: job %s, %d users in the store", after, users())
	if after.Status == "COMPLETED" {
		t.Fatalf("a killed import is reported completed: %+v", after)
	}
	var final jobState
	eventually(t, 30*time.Second, "the killed job reported failed", func() error {
		final = job(srv)
		if final.Status == "COMPLETED" {
			t.Fatalf("a killed import is reported completed: %+v", final)
		}
		if final.Status != "FAILED" {
			return fmt.Errorf("%+v", final)
		}
		return nil
	})
	n := users()
	t.Logf("final: job %s, %d users in the store", final, n)
	if final.Total != rows || final.Done <= 0 || final.Done >= final.Total {
		t.Fatalf("the job was not killed midway: %+v (want 0 < done < total = %d)", final, rows)
	}
	if final.Inserted != n || final.Failed != 0 || final.Inserted != final.Done {
		t.Fatalf("the store has %d users, the job recorded %+v: rows applied without a record", n, final)
	}
	if final.Message == nil || *final.Message == "" {
		t.Errorf("a failed job without a message: %+v", final)
	}
	// The users are the file's first n rows (batches commit in order), each
	// whole.
	seen := map[string]bool{}
	cursor := ""
	for {
		vars := map[string]any{}
		if cursor != "" {
			vars["after"] = cursor
		}
		r := srv.gql(t, token, `query($after: String) { users(first: 100, after: $after) {
			edges { node { email name userMetadata } } pageInfo { hasNextPage endCursor } } }`, vars, nil)
		var d struct {
			Users struct {
				Edges []struct {
					Node struct {
						Email, Name  string
						UserMetadata map[string]any
					}
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
			t.Fatalf("users: %s", r.Raw)
		}
		for _, e := range d.Users.Edges {
			u := e.Node
			var i int
			if _, err := fmt.Sscanf(u.Email, "i%d@example.com", &i); err != nil || i < 0 || i >= n || seen[u.Email] {
				t.Fatalf("user %q is not one of the first %d rows of the file (or is there twice)", u.Email, n)
			}
			seen[u.Email] = true
			if u.Name != fmt.Sprint("Imported ", i) || fmt.Sprint(u.UserMetadata["n"]) != strconv.Itoa(i) {
				t.Fatalf("user %q is half-written: %+v", u.Email, u)
			}
		}
		if !d.Users.PageInfo.HasNextPage {
			break
		}
		cursor = d.Users.PageInfo.EndCursor
	}
	if len(seen) != n {
		t.Fatalf("read %d users, the store counts %d", len(seen), n)
	}
}

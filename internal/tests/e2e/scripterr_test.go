package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestScriptErrorsStayWithAdmins: what a script's database said (here a
// missing table) never reaches an anonymous caller, who gets a fixed
// message and an error id; the server log has the id and the cause, an
// admin's try has the message. A custom connection without a databaseURL
// is refused at create and upload, and said at call time.
func TestScriptErrorsStayWithAdmins(t *testing.T) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			var logs syncBuffer
			store := testenv.OpenStore(t, storeURL(t, k))
			clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
			s := testenv.Start(t, store, testenv.Options{Scripts: scripts.Runner(t, store, nil),
				Service: service.Config{Now: clk.Now, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}})
			e := &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: clk, admin: s.Admin, gql: s.GraphQL(nil)}
			legacy := newLegacyDB(t)
			customConnection(t, e, "legacy", legacy, false, true)
			legacy.exec(t, "DROP TABLE users")

			r := e.raw("", `mutation { login(connection: "legacy", email: "ann@example.com", password: "pw") { accessToken } }`, nil)
			if r.code() != "SCRIPT_ERROR" || len(r.Errors) != 1 {
				t.Fatalf("anonymous login: %s", r.Raw)
			}
			msg := r.Errors[0].Message
			id, _ := r.Errors[0].Extensions["errorId"].(string)
			for _, leak := range []string{"1146", "exist", "users", "legacy"} {
				if strings.Contains(strings.ToLower(msg), leak) {
					t.Fatalf("the anonymous answer quotes the database (%q): %s", leak, msg)
				}
			}
			if id == "" || !strings.Contains(msg, id) {
				t.Fatalf("no error id in %s", r.Raw)
			}
			if l := logs.String(); !strings.Contains(l, id) || !strings.Contains(l, "1146") {
				t.Fatalf("the server log lacks the id or the cause:\n%s", l)
			}

			// A user token (self-service) or a management token without
			// update:connections: the same fixed message.
			tr := e.raw(e.token("read:users"), `mutation { login(connection: "legacy", email: "ann@example.com", password: "pw") { accessToken } }`, nil)
			if tr.code() != "SCRIPT_ERROR" || strings.Contains(tr.Errors[0].Message, "1146") {
				t.Fatalf("read:users caller: %s", tr.Raw)
			}
			// The admin's try shows the script's message.
			try := e.raw(e.admin, `mutation { tryConnectionScript(connection: "legacy", action: GET_USER, email: "ann@example.com") { ok errorCode errorMessage } }`, nil)
			if !strings.Contains(string(try.Data), "1146") {
				t.Fatalf("admin try: %s", try.Raw)
			}

			// No databaseURL: said at create and upload...
			cr := e.raw(e.admin, `mutation { createConnection(input: {name: "nourl", strategy: CUSTOM_DATABASE}) { name } }`, nil)
			if cr.code() != "BAD_USER_INPUT" || !strings.Contains(cr.Errors[0].Message, "needs a databaseURL") {
				t.Fatalf("create without databaseURL: %s", cr.Raw)
			}
			// ...and at call time for one stored without (before this check).
			ctx := context.Background()
			c, err := store.ConnectionByName(ctx, "legacy")
			if err != nil {
				t.Fatal(err)
			}
			c.DatabaseURL = ""
			if err := store.UpdateConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
			up, err := e.gql.UploadScript(e.admin, "legacy", script(t, "templates/mysql"))
			if err != nil || gqlResponse(up).code() != "BAD_USER_INPUT" || !strings.Contains(up.Errors[0].Message, "needs a databaseURL") {
				t.Fatalf("upload without databaseURL: %v %s", err, up.Raw)
			}
			_, err = client.Login(ctx, e.client(""), "legacy", "ann@example.com", "pw")
			wantCode(t, err, "CONNECTION_UNAVAILABLE")
			if !strings.Contains(logs.String(), "has no databaseURL") {
				t.Fatalf("the log does not say what is missing:\n%s", logs.String())
			}
		})
	}
}

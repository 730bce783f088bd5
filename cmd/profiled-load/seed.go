package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Seeded users: user i has the email seedEmail(i, domain), the password
// seedPassword (one bcrypt hash of -cost shared by every row: an import
// stores hashes, it never computes them), a small user_metadata object
// and app_metadata.plan "pro" for one user in four ("free" otherwise).
const (
	seedPassword = "load-password-not-secret"
	seedDomain   = "load.example.com"
	// importChunkBytes bounds one upload: the server refuses multipart
	// bodies over its script-module limit (32 MiB + 1 MiB), so bigger
	// imports go as several files, one job each, one after the other.
	importChunkBytes = 30 << 20
)

func seedConnName(cost int) string { return fmt.Sprintf("load-c%d", cost) }

func seedEmail(i int, domain string) string { return fmt.Sprintf("u%07d@%s", i, domain) }

var langs = [...]string{"en", "fr", "de", "es", "pt"}

// appendRow appends user i as one NDJSON line.
func appendRow(b []byte, i int, domain, hash string) []byte {
	plan := "free"
	if i%4 == 0 {
		plan = "pro"
	}
	row := map[string]any{
		"email":          seedEmail(i, domain),
		"email_verified": i%3 != 0,
		"name":           fmt.Sprintf("Load User %d", i),
		"nickname":       fmt.Sprintf("user%d", i),
		"user_metadata":  map[string]any{"lang": langs[i%len(langs)], "n": i},
		"app_metadata":   map[string]any{"plan": plan},
		"password_hash":  hash,
	}
	line, _ := json.Marshal(row)
	return append(append(b, line...), '\n')
}

type seedInfo struct {
	conn string // the connection of the seeded users
	n    int
}

// ensureSeeded makes sure the server's store holds n users in the
// connection seedConnName(cost), importing the missing ones (a store
// already seeded, e.g. a cached SQLite file, starts at once).
func ensureSeeded(ctx context.Context, cl *client, n, cost int) (*seedInfo, error) {
	conn := seedConnName(cost)
	if err := ensureConnection(ctx, cl, conn); err != nil {
		return nil, err
	}
	have, err := countUsers(ctx, cl, fmt.Sprintf("connection:%q", conn))
	if err != nil {
		return nil, err
	}
	if have < n {
		fmt.Fprintf(os.Stderr, "seeding users %d..%d into %s (bcrypt cost %d) through the import API\n", have, n, conn, cost)
		hash, err := bcrypt.GenerateFromPassword([]byte(seedPassword), cost)
		if err != nil {
			return nil, err
		}
		st, err := importRows(ctx, cl, conn, have, n, seedDomain, string(hash), have > 0)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "seeded %d users in %v (%.0f users/s)\n", n-have, st.elapsed.Round(time.Millisecond), float64(n-have)/st.elapsed.Seconds())
	}
	return &seedInfo{conn: conn, n: n}, nil
}

func ensureConnection(ctx context.Context, cl *client, name string) error {
	var r struct{ Connection *struct{ Name string } }
	if err := cl.do(ctx, cl.token, `query($n: String!) { connection(name: $n) { name } }`, map[string]any{"n": name}, &r); err != nil {
		return fmt.Errorf("connection %s: %w", name, detail(err))
	}
	if r.Connection != nil {
		return nil
	}
	if err := cl.do(ctx, cl.token, `mutation($n: String!) { createConnection(input: {name: $n, strategy: DATABASE}) { name } }`, map[string]any{"n": name}, nil); err != nil {
		return fmt.Errorf("createConnection %s: %w", name, detail(err))
	}
	return nil
}

func countUsers(ctx context.Context, cl *client, query string) (int, error) {
	var p page
	if err := cl.do(ctx, cl.token, `query($q: String!) { users(query: $q, first: 1) { totalCount } }`, map[string]any{"q": query}, &p); err != nil {
		return 0, fmt.Errorf("count %s: %w", query, detail(err))
	}
	if p.Users.TotalCount == nil {
		return 0, fmt.Errorf("count %s: no totalCount", query)
	}
	return *p.Users.TotalCount, nil
}

type importStats struct {
	elapsed time.Duration // uploads and jobs, not building the files
	files   int
	bytes   int64
}

const jobQuery = `query($id: ID!) { job(id: $id) { id status total done inserted updated failed message errors { row field reason } } }`

type jobView struct {
	ID, Status                             string
	Total, Done, Inserted, Updated, Failed int
	Message                                *string
	Errors                                 []struct {
		Row    int
		Field  *string
		Reason string
	}
}

// importRows imports users from..to-1 into conn through importUsers, in
// NDJSON files of at most importChunkBytes, each job followed to its end
// before the next upload. Any failed row or job is an error.
func importRows(ctx context.Context, cl *client, conn string, from, to int, domain, hash string, upsert bool) (importStats, error) {
	var st importStats
	buf := make([]byte, 0, importChunkBytes+4096)
	var row []byte
	for i := from; i < to; {
		buf = buf[:0]
		first := i
		for ; i < to; i++ {
			row = appendRow(row[:0], i, domain, hash)
			if len(buf)+len(row) > importChunkBytes {
				break
			}
			buf = append(buf, row...)
		}
		t0 := time.Now()
		j, err := importFile(ctx, cl, conn, buf, upsert)
		st.elapsed += time.Since(t0)
		st.files++
		st.bytes += int64(len(buf))
		if err != nil {
			return st, fmt.Errorf("import of users %d..%d: %w", first, i, err)
		}
		if j.Status != "COMPLETED" || j.Failed > 0 || j.Done != i-first {
			msg := ""
			if j.Message != nil {
				msg = *j.Message
			}
			if len(j.Errors) > 0 {
				msg += fmt.Sprintf(" (row %d: %s)", j.Errors[0].Row, j.Errors[0].Reason)
			}
			return st, fmt.Errorf("import of users %d..%d: job %s %s, %d done, %d failed %s", first, i, j.ID, j.Status, j.Done, j.Failed, msg)
		}
		fmt.Fprintf(os.Stderr, "  imported users %d..%d (%.1f MB) in %v\n", first, i, float64(len(buf))/1e6, time.Since(t0).Round(time.Millisecond))
	}
	return st, nil
}

// importFile uploads one file and polls the job until it ends.
func importFile(ctx context.Context, cl *client, conn string, file []byte, upsert bool) (*jobView, error) {
	var r struct{ ImportUsers jobView }
	if err := cl.upload(ctx, `mutation($c: String!, $f: Upload!, $u: Boolean) { importUsers(connection: $c, file: $f, upsert: $u) { id status } }`,
		map[string]any{"c": conn, "u": upsert}, "f", file, &r); err != nil {
		return nil, fmt.Errorf("importUsers: %w", detail(err))
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var j struct{ Job *jobView }
		if err := cl.do(ctx, cl.token, jobQuery, map[string]any{"id": r.ImportUsers.ID}, &j); err != nil {
			return nil, fmt.Errorf("job %s: %w", r.ImportUsers.ID, detail(err))
		}
		if j.Job == nil {
			return nil, fmt.Errorf("job %s: not found", r.ImportUsers.ID)
		}
		if j.Job.Status == "COMPLETED" || j.Job.Status == "FAILED" {
			return j.Job, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// runImport imports -users users into a new connection of the server's
// store: users/s over the uploads and the jobs (building the files is not
// timed). The started server's default store is a fresh SQLite file.
func runImport(ctx context.Context, e *caseEnv, _ io.Writer) (*caseResult, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tag := hex.EncodeToString(b)
	conn := "load-import-" + tag
	if err := ensureConnection(ctx, e.cl, conn); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(seedPassword), e.cfg.cost)
	if err != nil {
		return nil, err
	}
	// Memory is sampled while the jobs run.
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				e.mem.sample()
			}
		}
	}()
	st, err := importRows(ctx, e.cl, conn, 0, e.cfg.users, "i"+tag+".example.com", string(hash), false)
	close(stop)
	if err != nil {
		return nil, err
	}
	return &caseResult{
		Unit:      "users/s",
		Seconds:   math.Round(st.elapsed.Seconds()*10) / 10,
		Requests:  e.cfg.users,
		PerSecond: math.Round(float64(e.cfg.users) / st.elapsed.Seconds()),
		Note:      fmt.Sprintf("%d NDJSON file(s), %.1f MB, into %s", st.files, float64(st.bytes)/1e6, conn),
	}, nil
}

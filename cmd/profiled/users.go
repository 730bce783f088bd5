package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/service"
)

// usersCmd runs `profiled users import|export`: the same jobs the API
// starts, run in this process against the store, with progress shown.
func usersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "import":
		return usersImport(ctx, args[1:], stdout, stderr)
	case "export":
		return usersExport(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown users command %q\n\n%s", args[0], usage)
	return errUsage
}

// parseWithPositional parses flags that may come before or after the
// positional arguments (Go's flag package stops at the first one).
func parseWithPositional(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openService opens the store and a service on it for a CLI job, and
// fails the jobs a dead process left running.
// staleAfter is the job stale-after (--job-stale-after).
func openService(ctx context.Context, dbURL string, keys secretKeyFlags, staleAfter time.Duration, stderr io.Writer) (*service.Service, func(), error) {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, _, err := openStore(ctx, dbURL, keys, log)
	if err != nil {
		return nil, nil, err
	}
	hasher, err := passwords.New(passwords.Config{})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	svc := service.New(store, hasher, nil, nil, service.Config{Logger: log, JobStaleAfter: staleAfter})
	if n, err := svc.RecoverJobs(ctx); err != nil {
		store.Close()
		return nil, nil, err
	} else if n > 0 {
		fmt.Fprintf(stderr, "marked %d interrupted job(s) failed\n", n)
	}
	return svc, func() { store.Close() }, nil
}

// importExampleRow is a row that imports (a test checks it).
const importExampleRow = `{"email":"ada@example.com","email_verified":true,"name":"Ada Lovelace","user_metadata":{"lang":"en"},` +
	`"custom_password_hash":{"algorithm":"sha256","hash":{"value":"c7124467796ef676c7899dc49bbe06dc4b13e11f3f3b89fb82b9a7dd384bd562","encoding":"hex"},` +
	`"salt":{"value":"NaCl","position":"prefix"}}}`

const importHelp = `usage: profiled users import FILE --connection NAME [--upsert] [--db URL] [--job-stale-after D]

Imports users from FILE, a JSON array (Auth0's bulk-import file) or NDJSON
(one user a line, as "users export" writes it), into the connection NAME.
Fields, as Auth0 names them: email (required), email_verified, username,
given_name, family_name, name, nickname, picture, blocked, phone_number,
phone_verified, user_id, user_metadata, app_metadata, and one of
password_hash (bcrypt, or any stored form an export wrote) or
custom_password_hash {algorithm, hash {value, encoding, digest, key},
salt {value, encoding, position}, password {encoding}, keylen, cost,
blockSize, parallelization}, algorithm one of argon2, bcrypt, hmac, ldap,
md4, md5, sha1, sha256, sha512, pbkdf2, scrypt. An export's created_at,
updated_at, last_login, last_ip, logins_count are restored; a user_id that
already starts with "NAME|" is kept whole. Unknown fields are row errors;
bad rows are reported (row, field, reason) and the others imported.

Example row (password "correct horse battery staple", SHA-256 of salt+password):
  ` + importExampleRow + `

Imported hashes are replaced by the service's own algorithm at each
user's first login.

Flags:
`

const exportHelp = `usage: profiled users export --connection NAME --format ndjson|csv [--fields a,b] -o OUT [--db URL] [--job-stale-after D]

Writes the users of NAME (every connection when omitted) to OUT, in the
shape of Auth0's export job: NDJSON, one user a line, or CSV (OWASP
CSV-injection escaping, at most 30 fields, metadata as subfields such as
user_metadata.lang). The default NDJSON fields are
  %s
with user_id whole and dates in RFC 3339 (UTC). Listing password_hash adds
each user's stored hash, so that "users import" into an empty store gives
back every user exactly; keep such a file as secret as the store.

Flags:
`

func usersImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, importHelp)
		fs.PrintDefaults()
	}
	conn := fs.String("connection", "", "the connection to import into (required)")
	upsert := fs.Bool("upsert", false, "update users whose email the connection already has")
	dbURL := fs.String("db", env("PROFILED_DB", defaultDB), "the service's store")
	keys := addSecretKeyFlags(fs)
	staleAfterOf, err := jobStaleAfterFlag(fs)
	if err != nil {
		return err
	}
	pos, err := parseWithPositional(fs, args)
	if err != nil {
		return errUsage
	}
	staleAfter, err := staleAfterOf()
	if err != nil {
		return err
	}
	if len(pos) != 1 || *conn == "" {
		fmt.Fprintln(stderr, "usage: profiled users import FILE --connection NAME [--upsert] [--db URL] [--job-stale-after D]")
		return errUsage
	}
	svc, closeStore, err := openService(ctx, *dbURL, keys, staleAfter, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	j, err := svc.StartImportFile(ctx, service.Operator(), *conn, pos[0], *upsert)
	if err != nil {
		return err
	}
	p := newProgress(stdout, "import "+pos[0])
	j, err = svc.WaitJob(ctx, service.Operator(), j.ID, 200*time.Millisecond, p.update)
	if err != nil {
		return err
	}
	p.finish(j)
	for _, e := range j.Errors {
		if e.Field != "" {
			fmt.Fprintf(stderr, "row %d: %s: %s\n", e.Row, e.Field, e.Reason)
		} else {
			fmt.Fprintf(stderr, "row %d: %s\n", e.Row, e.Reason)
		}
	}
	if int64(len(j.Errors)) < j.Failed {
		fmt.Fprintf(stderr, "... and %d more row errors\n", j.Failed-int64(len(j.Errors)))
	}
	switch {
	case j.Status == service.JobFailed:
		return fmt.Errorf("import failed: %s", j.Message)
	case j.Failed > 0:
		return fmt.Errorf("%d of %d rows failed", j.Failed, j.Done)
	}
	return nil
}

func usersExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, exportHelp, strings.Join(service.DefaultExportFields, ","))
		fs.PrintDefaults()
	}
	conn := fs.String("connection", "", "the connection to export (default: every connection)")
	format := fs.String("format", "ndjson", "ndjson or csv")
	fields := fs.String("fields", "", "comma-separated fields, e.g. email,name,user_metadata.lang (default: every importable field; required for csv)")
	out := fs.String("o", "", "the file to write (required)")
	dbURL := fs.String("db", env("PROFILED_DB", defaultDB), "the service's store")
	keys := addSecretKeyFlags(fs)
	staleAfterOf, err := jobStaleAfterFlag(fs)
	if err != nil {
		return err
	}
	pos, err := parseWithPositional(fs, args)
	if err != nil {
		return errUsage
	}
	staleAfter, err := staleAfterOf()
	if err != nil {
		return err
	}
	if len(pos) != 0 || *out == "" {
		fmt.Fprintln(stderr, "usage: profiled users export --connection NAME --format ndjson|csv [--fields a,b] -o OUT [--db URL] [--job-stale-after D]")
		return errUsage
	}
	var list []string
	for _, f := range strings.Split(*fields, ",") {
		if f = strings.TrimSpace(f); f != "" {
			list = append(list, f)
		}
	}
	svc, closeStore, err := openService(ctx, *dbURL, keys, staleAfter, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	j, err := svc.StartExport(ctx, service.Operator(), *conn, service.ExportFormat(*format), list, service.ExportTo(*out))
	if err != nil {
		return err
	}
	p := newProgress(stdout, "export to "+*out)
	j, err = svc.WaitJob(ctx, service.Operator(), j.ID, 200*time.Millisecond, p.update)
	if err != nil {
		return err
	}
	p.finish(j)
	if j.Status == service.JobFailed {
		return fmt.Errorf("export failed: %s", j.Message)
	}
	return nil
}

// progress shows a job's progress: a bar redrawn in place on a terminal,
// a plain line every few seconds otherwise.
type progress struct {
	w     io.Writer
	label string
	tty   bool
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, label string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, label: label, tty: tty, start: time.Now()}
}

func (p *progress) update(j service.Job) {
	if j.Status != service.JobRunning {
		return
	}
	now := time.Now()
	if !p.tty && now.Sub(p.last) < 2*time.Second {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(j.Done) / el
	}
	left := "?"
	if rate > 0 && j.Total >= j.Done {
		left = (time.Duration(float64(j.Total-j.Done)/rate) * time.Second).Round(time.Second).String()
	}
	frac := 0.0
	if j.Total > 0 {
		frac = min(1, float64(j.Done)/float64(j.Total))
	}
	if p.tty {
		const width = 30
		n := int(frac * width)
		bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		if n < width {
			bar = strings.Repeat("=", n) + ">" + strings.Repeat(" ", width-n-1)
		}
		fmt.Fprintf(p.w, "\r[%s] %3.0f%%  %d/%d rows  %.0f rows/s  %s left   ", bar, frac*100, j.Done, j.Total, rate, left)
		return
	}
	fmt.Fprintf(p.w, "%s: %d/%d rows (%.0f%%), %.0f rows/s, %s left\n", p.label, j.Done, j.Total, frac*100, rate, left)
}

func (p *progress) finish(j service.Job) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	el := time.Since(p.start)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(j.Done) / s
	}
	switch j.Type {
	case service.JobImport:
		fmt.Fprintf(p.w, "%s: %s — %d rows: %d inserted, %d updated, %d failed, in %s (%.0f rows/s)\n",
			p.label, j.Status, j.Done, j.Inserted, j.Updated, j.Failed, el.Round(time.Millisecond), rate)
	default:
		fmt.Fprintf(p.w, "%s: %s — %d users in %s (%.0f users/s)\n", p.label, j.Status, j.Done, el.Round(time.Millisecond), rate)
	}
}

package sandbox

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/profiled/profiled/abi"
)

type callKey struct{}

// callState is everything the host functions need during one call: the
// arguments, the pending reply, the result, the counters and the logs. Only
// the goroutine running the call touches it.
type callState struct {
	m       *Module
	action  Action
	args    []byte
	reply   []byte
	result  []byte
	secrets []string // the call's passwords, masked in logs and messages

	hostCalls   int
	tx          *sqlx.Tx // the transaction db_begin opened, until commit or rollback
	hashed      bool     // the script compared a password (bcrypt or argon2id)
	fatal       string   // a limit hit: the call fails with this whatever the guest does
	unavailable string   // the database could not be reached
	timedOut    bool     // a host call saw the deadline

	conn   *sqlx.Conn // the call's database connection (dbConn), nil until used
	connID uint64     // its MySQL connection id (0: SQLite or not yet read)
	killed bool       // KILL QUERY was sent

	logs           []string
	logBytes       int
	dropped        int
	stdout, stderr []byte
}

// encodeArgs builds the call's argument List (ABI.md, "Arguments") and
// lists the passwords to mask.
func encodeArgs(c Call) ([]byte, []string, error) {
	var b []byte
	var secrets []string
	secret := func(s string) {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	switch c.Action {
	case ActionLogin:
		b = abi.AppendString(abi.AppendString(abi.AppendString(abi.AppendList(b, 3), c.Email), c.Password), c.Username)
		secret(c.Password)
	case ActionGetUser:
		b = abi.AppendString(abi.AppendString(abi.AppendList(b, 2), c.Email), c.Username)
	case ActionVerify:
		b = abi.AppendString(abi.AppendList(b, 1), c.Email)
	case ActionCreate:
		var err error
		if b, err = abi.AppendValue(abi.AppendList(b, 1), nonNil(c.User)); err != nil {
			return nil, nil, fmt.Errorf("sandbox: create: user: %w", err)
		}
		if pw, ok := c.User["password"].(string); ok {
			secret(pw)
		}
	case ActionChangePassword:
		b = abi.AppendString(abi.AppendString(abi.AppendList(b, 2), c.Email), c.NewPassword)
		secret(c.NewPassword)
	case ActionDelete:
		b = abi.AppendString(abi.AppendList(b, 1), c.ID)
	case ActionChangeEmail:
		b = abi.AppendBool(abi.AppendString(abi.AppendString(abi.AppendList(b, 3), c.Email), c.NewEmail), c.Verified)
	}
	return b, secrets, nil
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// redact masks the call's passwords in a string that came from the script.
func (cs *callState) redact(s string) string {
	for _, p := range cs.secrets {
		s = strings.ReplaceAll(s, p, "********")
	}
	return s
}

// log records one line (bounded in count, size and total bytes).
func (cs *callState) log(line string) {
	if len(cs.logs) >= maxLogLines || cs.logBytes >= maxLogBytes {
		cs.dropped++
		return
	}
	if len(line) > maxLogLineBytes {
		line = line[:maxLogLineBytes] + "…"
	}
	line = cs.redact(line)
	cs.logBytes += len(line)
	cs.logs = append(cs.logs, line)
}

// finishLogs folds stdout and stderr into the log, sends every line to the
// service log tagged with connection and action, and returns the lines.
func (cs *callState) finishLogs() []string {
	for _, stream := range []struct {
		prefix string
		b      []byte
	}{{"", cs.stdout}, {"[stderr] ", cs.stderr}} {
		for _, line := range bytes.Split(bytes.TrimRight(stream.b, "\n"), []byte("\n")) {
			if len(line) > 0 {
				cs.log(stream.prefix + string(line))
			}
		}
	}
	if cs.dropped > 0 {
		cs.logs = append(cs.logs, fmt.Sprintf("[%d log lines dropped: over the per-call limit]", cs.dropped))
		cs.dropped = 0
	}
	lg := cs.m.rt.cfg.Logger
	for _, l := range cs.logs {
		lg.Info("script log", "connection", cs.m.conn, "action", string(cs.action), "line", l)
	}
	return cs.logs
}

// decodeProfile checks the profile a script returned: a well-formed object
// with a user id and object metadata. Normalizing it into the domain's
// profile is the caller's (package scripting) job.
func decodeProfile(result []byte) (map[string]any, error) {
	d := abi.NewDecoder(result)
	v, err := d.Value()
	if err != nil || d.Remaining() != 0 {
		return nil, scriptErr("the script's result is not a well-formed encoded value")
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, scriptErr("the script's result is not a profile object")
	}
	if !hasID(raw["user_id"]) && !hasID(raw["id"]) {
		return raw, scriptErr(`the profile has no user id: set "user_id" (or "id") to a stable, non-empty value`)
	}
	for _, k := range []string{"user_metadata", "app_metadata"} {
		if x, present := raw[k]; present && x != nil {
			if _, ok := x.(map[string]any); !ok {
				return raw, scriptErr(k + " must be an object")
			}
		}
	}
	return raw, nil
}

func hasID(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x) != ""
	case int64, float64:
		return true
	}
	return false
}

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/sandbox/wasmbin"
)

// Module is one connection's script: a compiled module, its database pool,
// its configuration and a bounded pool of instances. Safe for concurrent
// use; each instance serves one call at a time.
type Module struct {
	rt      *Runtime
	conn    string
	fp      [32]byte
	key     [32]byte
	comp    *compiled // under rt.mu; replaced after an eviction, nil once finalized
	load    func(context.Context) ([]byte, error)
	db      *dbPool
	config  map[string][]byte
	timeout time.Duration
	actions []Action
	has     [len(actionList)]bool
	reserve int64 // what each instance takes from the runtime's memory budget

	idle    chan *instance // instances ready for a call
	slots   chan struct{}  // one token per live instance (capacity MaxInstances)
	closing chan struct{}  // closed by close()
	// recompiling is held by the one call that compiles the module again
	// after its eviction.
	recompiling chan struct{}

	mu        sync.Mutex
	closed    bool
	live      int
	finalized bool

	// bcryptCost is the cost of the last bcrypt hash a login compared
	// (0 until one did): the work an equalizing dummy compare must do.
	bcryptCost atomic.Int32
	// lastVerified is the last stored hash password_verify checked for
	// this connection: a login that answers "no" without hashing verifies
	// the password against it (discarding the result), at the cost the
	// connection's hashes have.
	lastVerified atomic.Pointer[string]
}

func newModule(r *Runtime, s Spec, fp, key [32]byte, c *compiled, db *dbPool, actions []Action, config map[string][]byte) *Module {
	m := &Module{
		rt: r, conn: s.Connection, fp: fp, key: key, comp: c, db: db, config: config,
		timeout: s.Timeout, actions: actions,
		idle:    make(chan *instance, r.cfg.MaxInstances),
		slots:   make(chan struct{}, r.cfg.MaxInstances),
		closing: make(chan struct{}),

		recompiling: make(chan struct{}, 1),
	}
	m.load = s.Load
	if m.load == nil {
		wasm := s.Wasm
		m.load = func(context.Context) ([]byte, error) { return wasm, nil }
	}
	for _, a := range actions {
		m.has[actionIndex(a)] = true
	}
	return m
}

// Actions lists the actions the module exports.
func (m *Module) Actions() []Action { return append([]Action(nil), m.actions...) }

// Has reports whether the module exports action a.
func (m *Module) Has(a Action) bool {
	i := actionIndex(a)
	return i >= 0 && m.has[i]
}

// Call holds the arguments of one action; only those of the action are
// used: login(Email, Password), get_user(Email), create(User),
// verify(Email), change_password(Email, NewPassword), delete(ID),
// change_email(Email, NewEmail, Verified).
type Call struct {
	Action                                     Action
	Email, Password, NewEmail, NewPassword, ID string
	// Username is login's and get_user's username, on connections that
	// allow logging in by username ("" otherwise). Either Email or
	// Username may be empty.
	Username string
	Verified bool
	// User is the profile to create: "email", "password", "username",
	// "phone_number", "email_verified", "name", "given_name",
	// "family_name", "nickname", "picture", "user_metadata",
	// "app_metadata" and any other attribute.
	User map[string]any
}

// Result is a successful call's outcome.
type Result struct {
	// Attributes are the profile login, get_user and create (when the
	// script returns one) returned, as the script encoded it (nil when
	// none): an object with a non-empty "user_id" (or "id") whose
	// user_metadata and app_metadata, when present, are objects. Package
	// scripting normalizes it into the domain's profile.
	Attributes map[string]any
	// Logs are the script's log lines of this call (sdk.Log, stdout,
	// stderr), passwords masked.
	Logs     []string
	Duration time.Duration
}

// Run calls the action. It waits for a free instance (bounded by the
// deadline), runs the export under the connection's timeout, and maps the
// outcome:
//   - ErrUnsupported when the module does not export the action;
//   - ErrWrongCredentials, ErrUserNotFound, ErrUserExists,
//     *ValidationError as the script said;
//   - an error matching ErrTimeout and context.DeadlineExceeded when the
//     deadline passed (the instance is discarded);
//   - ErrDatabaseUnavailable when a database call could not reach the
//     database and the script did not succeed;
//   - *ScriptError for everything else the script got wrong (the instance
//     is discarded after a trap, panic, exit or limit hit);
//   - the caller's context error when its context was cancelled.
//
// The returned Result carries the logs and the duration on error too.
func (m *Module) Run(ctx context.Context, c Call) (Result, error) {
	start := time.Now()
	idx := actionIndex(c.Action)
	if idx < 0 || !m.has[idx] {
		return Result{}, fmt.Errorf("%w: %s", ErrUnsupported, c.Action)
	}
	args, secrets, err := encodeArgs(c)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	cs := &callState{m: m, action: c.Action, args: args, secrets: secrets}

	in, err := m.acquire(ctx, cs)
	if err != nil {
		res := Result{Logs: cs.finishLogs(), Duration: time.Since(start)}
		return res, m.ctxOr(ctx, err)
	}
	in.call = cs
	in.stack[0] = 0
	callErr := in.fns[idx].CallWithStack(context.WithValue(ctx, callKey{}, cs), in.stack[:])
	in.call = nil
	if ctx.Err() != nil {
		cs.killQuery() // the guest was stopped inside a statement
	}
	status := abi.Status(api.DecodeI32(in.stack[0]))
	openTx := cs.endTx() // before its connection is closed
	cs.closeDB()
	if openTx && callErr == nil && status == abi.StatusOK && cs.fatal == "" {
		// Reporting success for writes that were never committed would
		// lie: they are rolled back and the call fails.
		cs.fatal = "the script returned with a transaction open (sdk.Begin without Commit): it was rolled back"
	}

	res := Result{Logs: cs.finishLogs()}
	var out error
	healthy := callErr == nil && cs.fatal == "" && status != abi.StatusPanic && ctx.Err() == nil
	if callErr != nil {
		out = m.callFailure(ctx, cs, in, callErr)
	} else {
		res.Attributes, out = m.outcome(ctx, cs, status)
	}
	m.release(in, healthy)
	if c.Action == ActionLogin && !cs.hashed && (errors.Is(out, ErrWrongCredentials) || errors.Is(out, ErrUserNotFound)) {
		// The script answered "no" without comparing a password (typically:
		// no such row). Do the comparison it skipped, at the cost its hashes
		// have, so an unknown email takes as long as a wrong password and
		// timing does not tell which accounts exist.
		if h := m.lastVerified.Load(); h != nil {
			m.rt.dummyVerify(ctx, *h, c.Password)
		} else {
			m.rt.dummyBcrypt(int(m.bcryptCost.Load()), c.Password)
		}
	}
	res.Duration = time.Since(start)
	return res, out
}

// callFailure maps an error of the export call itself (trap, exit, close).
func (m *Module) callFailure(ctx context.Context, cs *callState, in *instance, err error) error {
	if ctx.Err() != nil {
		return m.ctxOr(ctx, err)
	}
	if cs.fatal != "" {
		return scriptErr(cs.fatal)
	}
	stderr := cs.redact(strings.TrimSpace(string(cs.stderr)))
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		return scriptErr(fmt.Sprintf("script exited with code %d%s", ee.ExitCode(), tail(stderr)))
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] // drop the wasm stack trace
	}
	if g := in.mod.ExportedGlobal(wasmbin.StackGlobalExport); g != nil && uint32(g.Get()) > m.rt.cfg.MaxStackBytes {
		return scriptErr(fmt.Sprintf("script overflowed its stack (too deep recursion): the call stack went over the limit of %d KiB", m.rt.cfg.MaxStackBytes>>10))
	}
	switch {
	case strings.Contains(stderr, "out of memory"):
		return scriptErr(fmt.Sprintf("script ran out of memory (limit %d MiB)", m.rt.cfg.MemoryLimitPages/16))
	case strings.Contains(stderr, "stack overflow") || strings.Contains(msg, "stack overflow"):
		return scriptErr("script overflowed its stack (too deep recursion)" + tail(stderr))
	}
	return scriptErr("script trapped: " + msg + tail(stderr))
}

// ctxOr returns the timeout error when ctx's deadline passed, the caller's
// cancellation when it was cancelled, err otherwise.
func (m *Module) ctxOr(ctx context.Context, err error) error {
	var te *timeoutError
	if errors.As(err, &te) {
		return err
	}
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return &timeoutError{after: m.timeout}
	case context.Canceled:
		return fmt.Errorf("sandbox: call cancelled: %w", context.Canceled)
	}
	return err
}

// outcome maps a returned status (no trap) to the call's result.
func (m *Module) outcome(ctx context.Context, cs *callState, st abi.Status) (map[string]any, error) {
	if cs.fatal != "" {
		return nil, scriptErr(cs.fatal)
	}
	if st != abi.StatusOK {
		switch {
		case cs.unavailable != "":
			return nil, &unavailableError{msg: cs.unavailable}
		case ctx.Err() != nil || cs.timedOut:
			return nil, &timeoutError{after: m.timeout}
		}
	}
	msg := sanitizeMessage(cs.redact(string(cs.result)))
	switch st {
	case abi.StatusOK:
	case abi.StatusWrongCredentials:
		return nil, ErrWrongCredentials
	case abi.StatusUserNotFound:
		return nil, ErrUserNotFound
	case abi.StatusUserExists:
		return nil, ErrUserExists
	case abi.StatusBlocked:
		if cs.action != ActionLogin {
			return nil, scriptErr("status blocked is for login only")
		}
		return nil, ErrBlocked
	case abi.StatusValidation:
		return nil, &ValidationError{Message: msg}
	case abi.StatusError:
		if msg == "" {
			msg = "the script failed without a message"
		}
		return nil, scriptErr(msg)
	case abi.StatusPanic:
		return nil, scriptErr("script panicked: " + strings.TrimPrefix(msg, "panic: "))
	default:
		return nil, scriptErr(fmt.Sprintf("script returned unknown status %d", st))
	}
	switch cs.action {
	case ActionLogin, ActionGetUser, ActionCreate:
	default:
		return nil, nil
	}
	if len(cs.result) == 0 {
		switch cs.action {
		case ActionGetUser:
			return nil, ErrUserNotFound
		case ActionLogin:
			return nil, scriptErr("login succeeded but returned no profile")
		}
		return nil, nil
	}
	return decodeProfile(cs.result)
}

// sanitizeMessage makes a message from a script fit for a client: valid
// UTF-8, no control characters (each becomes a space), at most
// MaxMessageBytes (cut on a rune boundary, marked "…").
func sanitizeMessage(s string) string {
	if len(s) > 4*MaxMessageBytes {
		s = s[:4*MaxMessageBytes] // bound the work; cut again below
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= MaxMessageBytes {
		return s
	}
	cut := MaxMessageBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// tail formats the end of the guest's stderr for an error message.
func tail(stderr string) string {
	if stderr == "" {
		return ""
	}
	const max = 512
	if len(stderr) > max {
		stderr = "…" + stderr[len(stderr)-max:]
	}
	return " (stderr: " + stderr + ")"
}

// instance is one live instance of the module with its export handles.
type instance struct {
	mod   api.Module
	fns   [len(actionList)]api.Function
	stack [1]uint64
	comp  *compiled  // what it was made from
	call  *callState // the call in progress, nil between calls
	init  []byte     // output written outside a call (during _initialize)
}

// outWriter is an instance's stdout or stderr: bounded, into the call in
// progress (or the init buffer).
type outWriter struct {
	in     *instance
	stderr bool
}

func (w outWriter) Write(p []byte) (int, error) {
	if cs := w.in.call; cs != nil {
		if w.stderr {
			cs.stderr = appendBounded(cs.stderr, p)
		} else {
			cs.stdout = appendBounded(cs.stdout, p)
		}
	} else {
		w.in.init = appendBounded(w.in.init, p)
	}
	return len(p), nil
}

func appendBounded(b, p []byte) []byte {
	if room := maxOutputBytes - len(b); room < len(p) {
		p = p[:max(room, 0)]
	}
	return append(b, p...)
}

// acquire pins the module's compiled module (compiling it again if it was
// evicted), then returns an idle instance, or creates one while fewer than
// MaxInstances are live, or waits for one until ctx is done. release (or a
// failure here) unpins it.
func (m *Module) acquire(ctx context.Context, cs *callState) (*instance, error) {
	c, err := m.pin(ctx)
	if err != nil {
		return nil, err
	}
	for {
		select {
		case in := <-m.idle:
			m.rt.idle.Add(-1)
			if in.comp != c { // made before an eviction (not expected)
				m.discard(in)
				continue
			}
			return in, nil
		default:
		}
		select {
		case in := <-m.idle:
			m.rt.idle.Add(-1)
			if in.comp != c {
				m.discard(in)
				continue
			}
			return in, nil
		case m.slots <- struct{}{}:
			in, err := m.newInstance(ctx, cs, c)
			if err != nil {
				<-m.slots
				m.rt.unpin(c)
				return nil, err
			}
			return in, nil
		case <-ctx.Done():
			m.rt.unpin(c)
			return nil, ctx.Err()
		case <-m.closing:
			m.rt.unpin(c)
			return nil, ErrClosed
		}
	}
}

// newInstance instantiates c, the module's pinned compiled module (the
// slot is already taken).
func (m *Module) newInstance(ctx context.Context, cs *callState, c *compiled) (*instance, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.live++
	m.mu.Unlock()
	if err := m.rt.budget.acquire(ctx, m.reserve, m.rt.evictIdle); err != nil {
		m.dropLive()
		if ctx.Err() != nil {
			return nil, &timeoutError{after: m.timeout, why: "waited for the sandbox's memory budget"}
		}
		return nil, err
	}
	in := &instance{comp: c}
	mod, err := m.rt.instantiate(ctx, c.cm, in)
	if err == nil {
		in.mod = mod
		for i, name := range abi.Actions {
			if m.has[i] {
				if in.fns[i] = mod.ExportedFunction(name); in.fns[i] == nil {
					err = fmt.Errorf("export %s missing", name)
				}
			}
		}
	}
	if err != nil {
		if mod != nil {
			mod.Close(context.Background())
		}
		m.rt.budget.release(m.reserve)
		m.dropLive()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		cs.stderr = append(cs.stderr, in.init...)
		return nil, scriptErr("the script failed to start: " + firstLine(err.Error()) + tail(cs.redact(strings.TrimSpace(string(in.init)))))
	}
	in.init = nil
	return in, nil
}

// evictIdle closes one idle instance of any connection (to free its share
// of the memory budget for a waiting call) and reports whether it found
// one.
func (r *Runtime) evictIdle() bool {
	r.mu.Lock()
	mods := make([]*Module, 0, len(r.modules))
	for _, m := range r.modules {
		mods = append(mods, m)
	}
	r.mu.Unlock()
	for _, m := range mods {
		select {
		case in := <-m.idle:
			r.idle.Add(-1)
			m.discard(in)
			return true
		default:
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// release puts a healthy instance back in the pool, or discards it: also
// when the runtime already keeps MaxIdleInstances idle instances (of all
// connections), so that a burst's instances do not all stay.
//
// Either way it then unpins the instance's compiled module: an eviction
// finds the instance in the pool, or closed.
func (m *Module) release(in *instance, healthy bool) {
	m.mu.Lock()
	if healthy && !m.closed && !in.mod.IsClosed() {
		if m.rt.idle.Add(1) <= int64(m.rt.cfg.MaxIdleInstances) {
			m.idle <- in // never blocks: at most MaxInstances are live
			m.mu.Unlock()
			m.rt.unpin(in.comp)
			return
		}
		m.rt.idle.Add(-1)
	}
	m.mu.Unlock()
	m.rt.unpin(in.comp) // first: discarding the last instance may finalize the module
	m.discard(in)
}

func (m *Module) discard(in *instance) {
	in.mod.Close(context.Background())
	m.rt.budget.release(m.reserve)
	<-m.slots
	m.dropLive()
}

func (m *Module) dropLive() {
	m.mu.Lock()
	m.live--
	fin := m.closed && m.live == 0 && !m.finalized
	if fin {
		m.finalized = true
	}
	m.mu.Unlock()
	if fin {
		m.finalize()
	}
}

// close stops new calls, closes idle instances now and busy ones when their
// call ends, then releases the compiled module and the database pool.
func (m *Module) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.closing)
	var idle []*instance
	for done := false; !done; {
		select {
		case in := <-m.idle:
			m.rt.idle.Add(-1)
			idle = append(idle, in)
		default:
			done = true
		}
	}
	fin := m.live == 0 && !m.finalized
	if fin {
		m.finalized = true
	}
	m.mu.Unlock()
	for _, in := range idle {
		m.discard(in)
	}
	if fin {
		m.finalize()
	}
}

func (m *Module) finalize() {
	r := m.rt
	r.mu.Lock()
	c := m.comp
	m.comp = nil
	r.mu.Unlock()
	if c != nil {
		r.releaseCompiled(c)
	}
	r.releaseDB(m.db)
}

// Command profiled-load drives mixed read / update / login traffic against
// a Profiled server on loopback for a fixed duration at a fixed
// concurrency and reports throughput, latency percentiles, the error rate
// and the server's peak resident memory.
//
// It either starts the server itself (a `profiled` binary it builds, or
// -bin, on the store -db) or drives one already running (-url, with -token
// and optionally -pid for memory). RELIABILITY.md has the figures it
// produced and the commands.
//
//	go run ./cmd/profiled-load -db sqlite:/tmp/load.db -c 8 -d 60s
//	go run ./cmd/profiled-load -db mysql://root@127.0.0.1:3306/profiled_load -c 64 -d 60s
//	go run ./cmd/profiled-load -url http://127.0.0.1:8080 -token "$TOKEN" -pid 1234 -c 8 -d 10m -sample 30s
//	go run ./cmd/profiled-load -mix login=1 -c 64 -d 20s -legacy mysql://root@127.0.0.1:3306/profiled_load_legacy
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	url, token, bin, db string
	pid                 int
	clients             int
	duration, sample    time.Duration
	users               int
	mix                 string
	jsonOut             bool
	// legacy: logins go to a CUSTOM_DATABASE connection on this MariaDB
	// database (legacy.go); legacyUsers and legacyConn are its users.
	legacy      string
	legacyUsers []user
	legacyConn  string
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "", "base URL of a running server (default: start one)")
	flag.StringVar(&c.token, "token", "", "management token for -url (all user scopes)")
	flag.IntVar(&c.pid, "pid", 0, "PID of the -url server, to read its memory from /proc")
	flag.StringVar(&c.bin, "bin", "", "profiled binary to start (default: go build ./cmd/profiled)")
	flag.StringVar(&c.db, "db", "", "store of the started server (default: a fresh SQLite file)")
	flag.IntVar(&c.clients, "c", 8, "concurrent clients")
	flag.DurationVar(&c.duration, "d", 60*time.Second, "how long to drive traffic")
	flag.DurationVar(&c.sample, "sample", 0, "print the server's RSS at this interval (soak runs)")
	flag.IntVar(&c.users, "users", 200, "users to create before the run")
	flag.StringVar(&c.mix, "mix", "read=70,update=20,login=10", "operation weights")
	flag.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	flag.StringVar(&c.legacy, "legacy", "", "legacy logins: mysql://USER@HOST:PORT/DB to (re)create with the MySQL template's users; logins then go to a CUSTOM_DATABASE connection on it, and the peak RSS leaves the setup out")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "profiled-load:", err)
		os.Exit(1)
	}
}

type op int

const (
	opRead op = iota
	opUpdate
	opLogin
	numOps
)

var opNames = [numOps]string{"read", "update", "login"}

func parseMix(s string) ([numOps]int, error) {
	var w [numOps]int
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		i := slices.Index(opNames[:], k)
		if !ok || err != nil || n < 0 || i < 0 {
			return w, fmt.Errorf("bad -mix part %q (want read=N,update=N,login=N)", part)
		}
		w[i] = n
	}
	if w[0]+w[1]+w[2] == 0 {
		return w, errors.New("-mix weights are all zero")
	}
	return w, nil
}

func run(ctx context.Context, c config, out io.Writer) error {
	weights, err := parseMix(c.mix)
	if err != nil {
		return err
	}
	if c.url == "" {
		srv, err := startServer(ctx, &c)
		if err != nil {
			return err
		}
		defer srv.stop()
	} else if c.token == "" {
		return errors.New("-url needs -token")
	}
	cl := &client{base: strings.TrimRight(c.url, "/"), token: c.token, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: c.clients + 8, MaxConnsPerHost: 0},
	}}
	users, conn, err := seed(ctx, cl, c.users)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "seeded %d users on connection %s; driving %d clients for %v\n", len(users), conn, c.clients, c.duration)

	mem := &memWatch{pid: c.pid}
	if c.legacy != "" {
		if c.bin == "" {
			return errors.New("-legacy with -url needs -bin (it builds the script)")
		}
		if c.legacyUsers, c.legacyConn, err = seedLegacy(ctx, cl, c.bin, c.legacy, 64); err != nil {
			return fmt.Errorf("seed legacy: %w", err)
		}
		fmt.Fprintf(os.Stderr, "legacy connection %s; setup peak RSS %s\n", c.legacyConn, mib((&memWatch{pid: c.pid}).sample().hwm))
		if err := resetPeak(c.pid); err != nil {
			return err
		}
	}
	rssBefore := mem.sample()
	res := drive(ctx, cl, c, weights, users, conn, mem)
	rssAfter := mem.sample()
	rep := report(c, res, mem, rssBefore, rssAfter)
	if c.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(out, rep)
	return nil
}

// --- the server under test ---

type server struct {
	cmd  *exec.Cmd
	done chan struct{}
	dir  string
}

func startServer(ctx context.Context, c *config) (*server, error) {
	dir, err := os.MkdirTemp("", "profiled-load-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir}
	if c.bin == "" {
		c.bin = filepath.Join(dir, "profiled")
		b := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "./cmd/profiled")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/profiled (run from the repository root, or pass -bin): %w", err)
		}
	}
	if c.db == "" {
		c.db = "sqlite:" + filepath.Join(dir, "load.db")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.bin, "serve", "--addr", addr, "--db", c.db)
	cmd.Env = append(os.Environ(), "PROFILED_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	c.url, c.pid = "http://"+addr, cmd.Process.Pid
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(c.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return nil, fmt.Errorf("the server exited: %s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("the server did not answer /healthz within 60 s")
		}
	}
	tok, err := exec.Command(c.bin, "token", "create", "--db", c.db, "--ttl", "48h",
		"--scope", "read:users create:users update:users update:users_app_metadata delete:users read:connections create:connections update:connections").Output()
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("token create: %w", err)
	}
	c.token = strings.TrimSpace(string(tok))
	fmt.Fprintf(os.Stderr, "started %s (pid %d) on %s, store %s, log %s\n", c.bin, c.pid, c.url, c.db, filepath.Join(dir, "server.log"))
	return s, nil
}

func (s *server) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// --- GraphQL over HTTP ---

type client struct {
	base, token string
	http        *http.Client
}

type gqlErr struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// do posts one operation; the error is a transport failure, a non-200
// status or the first GraphQL error (as its code).
func (c *client) do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlErr        `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("HTTP %d: not JSON", res.StatusCode)
	}
	if len(r.Errors) > 0 {
		code, _ := r.Errors[0].Extensions["code"].(string)
		return fmt.Errorf("%s", code)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

type user struct{ id, email, password string }

func seed(ctx context.Context, c *client, n int) ([]user, string, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	conn := "load-" + hex.EncodeToString(b)
	if err := c.do(ctx, c.token, `mutation($n: String!) { createConnection(input: {name: $n, strategy: DATABASE}) { name } }`, map[string]any{"n": conn}, nil); err != nil {
		return nil, "", err
	}
	users := make([]user, n)
	var wg sync.WaitGroup
	errc := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			u := user{email: fmt.Sprintf("u%d@%s.example.com", i, conn), password: fmt.Sprintf("load-password-%d", i)}
			var r struct{ CreateUser struct{ ID string } }
			if err := c.do(ctx, c.token, `mutation($c: String!, $e: String!, $p: String!) { createUser(input: {connection: $c, email: $e, password: $p, userMetadata: {seeded: true}}) { id } }`,
				map[string]any{"c": conn, "e": u.email, "p": u.password}, &r); err != nil {
				errc <- err
				return
			}
			u.id = r.CreateUser.ID
			users[i] = u
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, "", err
	}
	return users, conn, nil
}

// --- the run ---

type sample struct {
	d   time.Duration
	err string
}

type result struct {
	elapsed time.Duration
	perOp   [numOps][]sample
}

func drive(ctx context.Context, c *client, cfg config, weights [numOps]int, users []user, conn string, mem *memWatch) result {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	total := weights[0] + weights[1] + weights[2]
	per := make([][numOps][]sample, cfg.clients)
	var seq atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for ctx.Err() == nil {
				r := rng.IntN(total)
				k := opRead
				if r >= weights[0] {
					k = opUpdate
					if r >= weights[0]+weights[1] {
						k = opLogin
					}
				}
				u := users[rng.IntN(len(users))]
				rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
				t0 := time.Now()
				var err error
				switch k {
				case opRead:
					err = c.do(rctx, c.token, `query($id: ID!) { user(id: $id) { id email userMetadata loginsCount } }`, map[string]any{"id": u.id}, nil)
				case opUpdate:
					err = c.do(rctx, c.token, `mutation($id: ID!, $m: JSON!) { updateUser(id: $id, input: {userMetadata: $m}) { id } }`,
						map[string]any{"id": u.id, "m": map[string]any{fmt.Sprintf("w%d", w): seq.Add(1)}}, nil)
				case opLogin:
					lc := conn
					if len(cfg.legacyUsers) > 0 {
						u, lc = cfg.legacyUsers[rng.IntN(len(cfg.legacyUsers))], cfg.legacyConn
					}
					err = c.do(rctx, "", `mutation($c: String!, $e: String!, $p: String!) { login(connection: $c, email: $e, password: $p) { accessToken } }`,
						map[string]any{"c": lc, "e": u.email, "p": u.password}, nil)
				}
				d := time.Since(t0)
				rcancel()
				if ctx.Err() != nil && err != nil {
					break // cut off by the end of the run, not a server error
				}
				s := sample{d: d}
				if err != nil {
					s.err = err.Error()
				}
				per[w][k] = append(per[w][k], s)
			}
		}()
	}
	if cfg.sample > 0 {
		go func() {
			t := time.NewTicker(cfg.sample)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					m := mem.sample()
					fmt.Fprintf(os.Stderr, "t=%-6s rss=%s hwm=%s\n", time.Since(start).Round(time.Second), mib(m.rss), mib(m.hwm))
				}
			}
		}()
	}
	wg.Wait()
	var res result
	res.elapsed = time.Since(start)
	for _, p := range per {
		for k := range numOps {
			res.perOp[k] = append(res.perOp[k], p[k]...)
		}
	}
	return res
}

// --- memory ---

type memSample struct{ rss, hwm int64 } // bytes

type memWatch struct {
	pid     int
	mu      sync.Mutex
	peakRSS int64
	samples []memSample
}

// sample reads VmRSS and VmHWM (peak RSS) of the server from /proc.
func (m *memWatch) sample() memSample {
	if m.pid == 0 {
		return memSample{}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.pid))
	if err != nil {
		return memSample{}
	}
	defer f.Close()
	var s memSample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			s.rss = n << 10
		case "VmHWM":
			s.hwm = n << 10
		}
	}
	m.mu.Lock()
	m.peakRSS = max(m.peakRSS, s.rss, s.hwm)
	m.samples = append(m.samples, s)
	m.mu.Unlock()
	return s
}

func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// --- the report ---

type opReport struct {
	Op       string         `json:"op"`
	Requests int            `json:"requests"`
	Errors   int            `json:"errors"`
	P50ms    float64        `json:"p50_ms"`
	P99ms    float64        `json:"p99_ms"`
	Codes    map[string]int `json:"error_codes,omitempty"`
}

type runReport struct {
	Store       string     `json:"store"`
	Clients     int        `json:"clients"`
	Seconds     float64    `json:"seconds"`
	Requests    int        `json:"requests"`
	Throughput  float64    `json:"requests_per_second"`
	ErrorRate   float64    `json:"error_rate"`
	P50ms       float64    `json:"p50_ms"`
	P99ms       float64    `json:"p99_ms"`
	RSSStartMiB float64    `json:"rss_start_mib"`
	RSSEndMiB   float64    `json:"rss_end_mib"`
	PeakRSSMiB  float64    `json:"peak_rss_mib"`
	Ops         []opReport `json:"ops"`
}

func percentile(s []time.Duration, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(s))*p/100)) - 1
	i = min(max(i, 0), len(s)-1)
	return math.Round(float64(s[i].Microseconds())/10) / 100
}

func report(c config, res result, mem *memWatch, before, after memSample) runReport {
	rep := runReport{Store: strings.SplitN(c.db, ":", 2)[0], Clients: c.clients, Seconds: math.Round(res.elapsed.Seconds()*10) / 10}
	if c.db == "" {
		rep.Store = "external"
	}
	var all []time.Duration
	errs := 0
	for k := range numOps {
		r := opReport{Op: opNames[k], Requests: len(res.perOp[k]), Codes: map[string]int{}}
		ds := make([]time.Duration, 0, len(res.perOp[k]))
		for _, s := range res.perOp[k] {
			ds = append(ds, s.d)
			if s.err != "" {
				r.Errors++
				r.Codes[s.err]++
			}
		}
		slices.Sort(ds)
		r.P50ms, r.P99ms = percentile(ds, 50), percentile(ds, 99)
		if len(r.Codes) == 0 {
			r.Codes = nil
		}
		rep.Ops = append(rep.Ops, r)
		all = append(all, ds...)
		errs += r.Errors
	}
	slices.Sort(all)
	rep.Requests = len(all)
	rep.Throughput = math.Round(float64(len(all))/res.elapsed.Seconds()*10) / 10
	if len(all) > 0 {
		rep.ErrorRate = float64(errs) / float64(len(all))
	}
	rep.P50ms, rep.P99ms = percentile(all, 50), percentile(all, 99)
	rep.RSSStartMiB = math.Round(float64(before.rss)/(1<<20)*10) / 10
	rep.RSSEndMiB = math.Round(float64(after.rss)/(1<<20)*10) / 10
	rep.PeakRSSMiB = math.Round(float64(mem.peakRSS)/(1<<20)*10) / 10
	return rep
}

func printReport(w io.Writer, r runReport) {
	fmt.Fprintf(w, "| store | clients | seconds | requests | req/s | error rate | p50 ms | p99 ms | RSS start → end MiB | peak RSS MiB |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %s | %d | %.0f | %d | %.1f | %.4f | %.2f | %.2f | %.1f → %.1f | %.1f |\n\n",
		r.Store, r.Clients, r.Seconds, r.Requests, r.Throughput, r.ErrorRate, r.P50ms, r.P99ms, r.RSSStartMiB, r.RSSEndMiB, r.PeakRSSMiB)
	fmt.Fprintf(w, "| op | requests | errors | p50 ms | p99 ms |\n|---|---|---|---|---|\n")
	for _, o := range r.Ops {
		codes := ""
		if len(o.Codes) > 0 {
			b, _ := json.Marshal(o.Codes)
			codes = " " + string(b)
		}
		fmt.Fprintf(w, "| %s | %d | %d%s | %.2f | %.2f |\n", o.Op, o.Requests, o.Errors, codes, o.P50ms, o.P99ms)
	}
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The mixed case: read / update / login traffic on users it creates one by
// one through createUser (each with its own password), weighted by -mix.

func runMixed(ctx context.Context, e *caseEnv, out io.Writer) (*caseResult, error) {
	c := e.cfg
	weights, err := parseMix(c.mix)
	if err != nil {
		return nil, err
	}
	users, conn, err := seedMixed(ctx, e.cl, c.users)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", detail(err))
	}
	fmt.Fprintf(os.Stderr, "seeded %d users on connection %s; driving %d clients for %v\n", len(users), conn, c.clients, c.duration)
	rssBefore := e.mem.sample()
	res := drive(ctx, e.cl, c, weights, users, conn, e.mem)
	rssAfter := e.mem.sample()
	rep := report(c, res, e.mem, rssBefore, rssAfter)
	if c.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return nil, enc.Encode(rep)
	}
	printReport(out, rep)
	return nil, nil
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

type user struct{ id, email, password string }

func seedMixed(ctx context.Context, c *client, n int) ([]user, string, error) {
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
					err = c.do(rctx, "", `mutation($c: String!, $e: String!, $p: String!) { login(connection: $c, email: $e, password: $p) { accessToken } }`,
						map[string]any{"c": conn, "e": u.email, "p": u.password}, nil)
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

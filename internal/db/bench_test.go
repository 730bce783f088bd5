package db

// go test -run '^$' -bench . -benchtime=1s ./db/
//
// MySQL benchmarks need the server of internal/testmysql (skipped without it).

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/service"
)

var benchStores = []struct {
	name string
	open func(b *testing.B, opts ...Option) *DB
}{
	{"sqlite", func(b *testing.B, opts ...Option) *DB { return openSQLiteStore(b, opts...) }},
	{"mysql", func(b *testing.B, opts ...Option) *DB { return openMySQLStore(b, opts...) }},
}

func seedUsers(b *testing.B, d *DB, n int) {
	b.Helper()
	for i := range n {
		u := sampleUser(fmt.Sprintf("user-%05d", i), "db", fmt.Sprintf("u%d@example.com", i))
		if err := d.InsertUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserByID(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			d := s.open(b)
			seedUsers(b, d, 100)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := d.UserByID(ctx, fmt.Sprintf("user-%05d", i%100)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMetadataMerge compares the service's read-modify-write of one
// user (WithTx: UserByIDForUpdate, change user_metadata, UpdateUser) with a
// plain UpdateUser (one UPDATE statement) of the same row; the ratio of the
// two is the price of the transaction and the locking read.
func BenchmarkMetadataMerge(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			d := s.open(b)
			seedUsers(b, d, 1)
			const id = "user-00000"
			b.Run("tx", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					err := d.WithTx(ctx, func(tx service.Queries) error {
						u, err := tx.UserByIDForUpdate(ctx, id)
						if err != nil {
							return err
						}
						u.UserMetadata["k"] = json.Number(fmt.Sprint(i))
						return tx.UpdateUser(ctx, u)
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("plain-update", func(b *testing.B) {
				u, err := d.UserByID(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					u.UserMetadata["k"] = json.Number(fmt.Sprint(i))
					if err := d.UpdateUser(ctx, u); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkSQLitePools measures the default SQLite layout (one write
// connection + a read pool) against one shared pool whose writers meet at
// BEGIN IMMEDIATE / busy_timeout, with 4 goroutines per CPU (GOMAXPROCS × 4)
// working on random users among 1000.
func BenchmarkSQLitePools(b *testing.B) {
	layouts := []struct {
		name string
		opts []Option
	}{
		{"split", nil},
		{"shared", []Option{func(o *options) { o.sqliteSharedPool = true }}},
	}
	const users = 1000
	for _, l := range layouts {
		b.Run(l.name, func(b *testing.B) {
			d := openSQLiteStore(b, l.opts...)
			seedUsers(b, d, users)
			merge := func(id string, i int) error {
				return d.WithTx(ctx, func(tx service.Queries) error {
					u, err := tx.UserByIDForUpdate(ctx, id)
					if err != nil {
						return err
					}
					u.UserMetadata["k"] = json.Number(fmt.Sprint(i))
					return tx.UpdateUser(ctx, u)
				})
			}
			for _, mix := range []struct {
				name   string
				writes int // in 10 operations
			}{{"read", 0}, {"mixed-10pct-tx", 1}, {"tx", 10}} {
				b.Run(mix.name, func(b *testing.B) {
					var failures atomic.Int64
					b.SetParallelism(4)
					b.RunParallel(func(pb *testing.PB) {
						r := rand.New(rand.NewPCG(rand.Uint64(), 0))
						for i := 0; pb.Next(); i++ {
							id := fmt.Sprintf("user-%05d", r.IntN(users))
							var err error
							if i%10 < mix.writes {
								err = merge(id, i)
							} else {
								_, err = d.UserByID(ctx, id)
							}
							if err != nil {
								failures.Add(1)
							}
						}
					})
					if n := failures.Load(); n > 0 {
						b.Fatalf("%d operations failed", n)
					}
				})
			}
		})
	}
}

// BenchmarkEventsOfAPage compares reading the newest 6 events of each of
// 50 users (a users page showing each user's history) with one query per
// user (EventsByUser, what User.logs did alone) and with one window query
// (EventsByUsers, what its dataloader does). Each user has 20 events.
//
//	go test -run '^$' -bench EventsOfAPage -benchtime 200x ./db/
func BenchmarkEventsOfAPage(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			d := s.open(b)
			ids := make([]string, 50)
			for u := range ids {
				ids[u] = fmt.Sprintf("user-%05d", u)
				for e := range 20 {
					if err := d.InsertEvent(ctx, service.Event{ID: fmt.Sprintf("ev-%05d-%03d", u, e), Time: µs(t0).Add(time.Duration(e) * time.Minute), Type: "login", UserID: ids[u]}); err != nil {
						b.Fatal(err)
					}
				}
			}
			var perUser, batched time.Duration
			for b.Loop() {
				start := time.Now()
				for _, id := range ids {
					if _, err := d.EventsByUser(ctx, id, service.ListEventsParams{Limit: 6}); err != nil {
						b.Fatal(err)
					}
				}
				perUser += time.Since(start)
				start = time.Now()
				if _, err := d.EventsByUsers(ctx, ids, 6); err != nil {
					b.Fatal(err)
				}
				batched += time.Since(start)
			}
			b.ReportMetric(float64(perUser.Microseconds())/float64(b.N), "per-user-µs/page")
			b.ReportMetric(float64(batched.Microseconds())/float64(b.N), "batched-µs/page")
			b.ReportMetric(float64(perUser)/float64(batched), "x_faster")
		})
	}
}

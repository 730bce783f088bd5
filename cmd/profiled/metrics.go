package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/sandbox"
)

// memoryCollectors exports, on /metrics, the sizes of serve's bounded
// caches: the sandbox's compiled script modules (--script-compiled-mib)
// and the verified-token cache (--token-cache-size). Each is read when
// scraped.
func memoryCollectors(rt *sandbox.Runtime, k *auth.Keyring) []prometheus.Collector {
	stat := func(f func(sandbox.Stats) float64) func() float64 {
		return func() float64 { return f(rt.Stats()) }
	}
	tok := func(f func(hits, misses uint64, size int) float64) func() float64 {
		return func() float64 { return f(k.CacheStats()) }
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "profiled_sandbox_compiled_modules", Help: "Compiled script modules kept in memory.",
		}, stat(func(s sandbox.Stats) float64 { return float64(s.CompiledModules) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "profiled_sandbox_compiled_bytes", Help: "Estimated memory of the compiled script modules kept or being compiled (5x each module's size plus 256 KiB, sandbox.CompiledSize).",
		}, stat(func(s sandbox.Stats) float64 { return float64(s.CompiledBytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "profiled_sandbox_compiled_budget_bytes", Help: "The compiled-module budget (--script-compiled-mib).",
		}, stat(func(s sandbox.Stats) float64 { return float64(s.CompiledBudget) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "profiled_sandbox_compiled_evictions_total", Help: "Compiled script modules closed to stay within the budget.",
		}, stat(func(s sandbox.Stats) float64 { return float64(s.Evictions) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "profiled_sandbox_recompiles_total", Help: "Script modules compiled again on their next call after an eviction.",
		}, stat(func(s sandbox.Stats) float64 { return float64(s.Recompiles) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "profiled_token_cache_entries", Help: "Verified tokens remembered (--token-cache-size).",
		}, tok(func(_, _ uint64, size int) float64 { return float64(size) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "profiled_token_cache_hits_total", Help: "Token verifications answered from the verified-token cache.",
		}, tok(func(hits, _ uint64, _ int) float64 { return float64(hits) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "profiled_token_cache_misses_total", Help: "Token verifications not answered from the cache (0 while it is off).",
		}, tok(func(_, misses uint64, _ int) float64 { return float64(misses) })),
	}
}

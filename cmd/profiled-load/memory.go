package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
)

// --- memory ---

type memSample struct{ rss, hwm int64 } // bytes

type memWatch struct {
	pid     int
	mu      sync.Mutex
	peakRSS int64
	samples []memSample
	// hwmReset: VmHWM was reset by resetPeak (so it counts), or resetPeak
	// was never called (the mixed case: the lifetime peak is the point).
	hwmReset bool
	started  bool
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
	if !m.started {
		m.started, m.hwmReset = true, true
	}
	m.peakRSS = max(m.peakRSS, s.rss)
	if m.hwmReset {
		m.peakRSS = max(m.peakRSS, s.hwm)
	}
	m.samples = append(m.samples, s)
	m.mu.Unlock()
	return s
}

func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// resetPeak starts a new peak: the kernel's VmHWM is reset through
// /proc/PID/clear_refs ("5", Linux ≥ 4.0, the process's owner or root);
// where that is refused, VmHWM stays the process's lifetime peak and only
// the samples taken during the case count.
func (m *memWatch) resetPeak() {
	if m.pid == 0 {
		return
	}
	reset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", m.pid), []byte("5"), 0) == nil
	m.mu.Lock()
	m.peakRSS, m.hwmReset, m.started = 0, reset, true
	m.mu.Unlock()
	m.sample()
}

// peakMiB samples once more and returns the peak RSS since resetPeak.
func (m *memWatch) peakMiB() float64 {
	m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	return math.Round(float64(m.peakRSS)/(1<<20)*10) / 10
}

// Package latency summarises measured durations: the percentiles that the
// benchmarks (bench_test.go) and the load run (cmd/loadtest) report.
package latency

import (
	"fmt"
	"slices"
	"time"
)

// Summary is the distribution of a set of durations.
type Summary struct {
	N             int
	Min, P50, P90 time.Duration
	P99, Max      time.Duration
	Mean          time.Duration
}

// Summarize sorts a copy of d and returns its percentiles. The zero Summary
// stands for no samples.
func Summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return Summary{
		N:    len(s),
		Min:  s[0],
		P50:  Percentile(s, 0.50),
		P90:  Percentile(s, 0.90),
		P99:  Percentile(s, 0.99),
		Max:  s[len(s)-1],
		Mean: sum / time.Duration(len(s)),
	}
}

// Percentile returns the p-quantile (0 ≤ p ≤ 1) of sorted, interpolating
// linearly between the two nearest samples (so the 0.5 quantile of an even
// number of samples is the mean of the middle two).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	p = min(max(p, 0), 1)
	pos := p * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(i)
	return sorted[i] + time.Duration(frac*float64(sorted[i+1]-sorted[i]))
}

// Ms is d in milliseconds, for metrics and reports.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String is a one-line summary in milliseconds.
func (s Summary) String() string {
	return fmt.Sprintf("n=%d p50=%.1fms p90=%.1fms p99=%.1fms max=%.1fms",
		s.N, Ms(s.P50), Ms(s.P90), Ms(s.P99), Ms(s.Max))
}

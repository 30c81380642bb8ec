package latency

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	s := Summarize([]time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms})
	if s.N != 4 || s.Min != ms || s.Max != 4*ms || s.P50 != 2500*time.Microsecond || s.Mean != 2500*time.Microsecond {
		t.Errorf("Summarize = %+v", s)
	}
	if got := Summarize(nil); got != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want the zero Summary", got)
	}
	sorted := make([]time.Duration, 101)
	for i := range sorted {
		sorted[i] = time.Duration(i) * ms
	}
	for p, want := range map[float64]time.Duration{0: 0, 0.5: 50 * ms, 0.99: 99 * ms, 1: 100 * ms, 2: 100 * ms} {
		if got := Percentile(sorted, p); got != want {
			t.Errorf("Percentile(0..100ms, %v) = %v, want %v", p, got, want)
		}
	}
}

package standin

import (
	"sync"
	"time"
)

// Clock moves only when told to. The stand-in's tests give its Now to the
// stand-in (which expires tokens by it), and Advance it instead of sleeping.
// The app's tests and package bitbucket's use testing/synctest instead.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at 2026-11-28 12:00 UTC.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)} }

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

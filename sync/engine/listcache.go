package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// listCache is the last listing of something kept in files (invitations,
// pending joins), for callers that ask on every frame of a UI. Changes this
// engine makes drop it at once (changed); one made by another process
// shows within the maxAge given to get.
type listCache[T any] struct {
	mu    sync.Mutex
	items []T
	at    time.Time // when read; zero: stale
	gen   uint64    // bumped by every change
	reads atomic.Int64
}

// get returns the listing, read anew with read when older than maxAge.
func (c *listCache[T]) get(maxAge time.Duration, read func() []T) []T {
	c.mu.Lock()
	if !c.at.IsZero() && time.Since(c.at) < maxAge {
		items := slices.Clone(c.items)
		c.mu.Unlock()
		return items
	}
	gen := c.gen
	c.mu.Unlock()
	c.reads.Add(1)
	items := read() // not under mu: it reads files
	c.mu.Lock()
	if c.gen == gen { // nothing changed while we read
		c.items, c.at = items, time.Now()
	}
	c.mu.Unlock()
	return slices.Clone(items)
}

// changed makes the next get read again.
func (c *listCache[T]) changed() {
	c.mu.Lock()
	c.gen++
	c.at = time.Time{}
	c.mu.Unlock()
}

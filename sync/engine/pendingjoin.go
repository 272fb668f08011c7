package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
)

// A join whose inviter cannot be reached is not lost: Join keeps it as a
// pending join in the notebook (notebook.PendingJoin, bounded there) and
// Run's joinLoop retries it with jittered, capped exponential backoff until
// the note arrives, retrying cannot help (the inviter answers that it lacks
// the note: Failed), or the user cancels it (CancelJoin, or `collab join
// --cancel` from another process: every attempt starts from the file).

// ErrJoinPending: the join could not reach the inviter and is kept as a
// pending join; the running peer retries it. Such errors are
// *PendingError.
var ErrJoinPending = errors.New("join pending")

// Defaults of the join retry backoff (Config.JoinRetryMin, JoinRetryMax).
const (
	DefaultJoinRetryMin = 5 * time.Second
	DefaultJoinRetryMax = 5 * time.Minute
)

const (
	// maxJoinRetries bounds the attempts running at once.
	maxJoinRetries = 2
	// joinAttemptTimeout bounds one attempt, from dialling to the note's
	// text (cmd/collab gives an interactive join 90 s).
	joinAttemptTimeout = 2 * time.Minute
	// pendingJoinsMaxAge is how long PendingJoins answers from memory (a
	// UI lists them on every frame).
	pendingJoinsMaxAge = time.Second
)

// PendingError is a join that could not reach the inviter and is kept
// pending. Its text is why, in plain words (the PeerError behind it);
// NextTry is when this engine tries again.
type PendingError struct {
	Note    crdt.DocumentID
	NextTry time.Time
	cause   error
}

func (e *PendingError) Error() string { return e.cause.Error() }

func (e *PendingError) Unwrap() []error { return []error{ErrJoinPending, e.cause} }

// retryLater reports whether a peer that failed to connect for a join may
// answer later: not when it is this peer itself, speaks another protocol,
// refuses us, or was refused by us, nor when the engine or the caller
// stopped the join.
func retryLater(err error) bool {
	var pe *PeerError
	var de *p2p.DialError
	switch {
	case errors.Is(err, ErrPeerRefused), errors.Is(err, ErrNotRunning), errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &pe) && pe.final:
		return false
	case errors.As(err, &de) && (de.Kind == p2p.FailSelf || de.Kind == p2p.FailClosed):
		return false
	}
	return true
}

// keepPending stores a failed join to retry, and returns the error that
// says so (wrapping cause).
func (e *Engine) keepPending(id crdt.DocumentID, addrs []ma.Multiaddr, cause error) error {
	now := time.Now()
	next := now.Add(e.joinRetryDelay(1))
	j := notebook.PendingJoin{DocumentID: id, Addrs: stringsOf(addrs), Added: now,
		Attempts: 1, LastTry: now, LastError: cause.Error(), NextTry: next}
	if err := e.nb.AddPendingJoin(j); err != nil {
		return fmt.Errorf("%w (not kept to retry: %w)", cause, err)
	}
	e.joinsChanged(id)
	e.log.Info("join kept pending: the inviter could not be reached", "note", id, "err", cause)
	return &PendingError{Note: id, NextTry: next, cause: cause}
}

// CancelJoin gives up a pending join: it is no longer retried, and an
// attempt under way stops (what it fetched is removed).
// notebook.ErrNoPendingJoin if none is pending for the note.
func (e *Engine) CancelJoin(id crdt.DocumentID) error {
	if err := e.nb.RemovePendingJoin(id); err != nil {
		return fmt.Errorf("cancel join: %w", err)
	}
	e.joinsChanged(id)
	e.log.Info("pending join cancelled", "note", id)
	return nil
}

// PendingJoins lists the pending joins, oldest first. It is cheap to call
// often (a UI's every render): it reads the file at most once a second,
// and at once after a change this engine made.
func (e *Engine) PendingJoins() []notebook.PendingJoin {
	return e.joinCache.get(pendingJoinsMaxAge, func() []notebook.PendingJoin {
		joins, err := e.nb.PendingJoins()
		if err != nil {
			e.log.Warn("cannot read the pending joins", "err", err)
		}
		return joins
	})
}

// joinsChanged drops the cached listing, wakes the retry loop and tells
// subscribers.
func (e *Engine) joinsChanged(id crdt.DocumentID) {
	e.joinCache.changed()
	select {
	case e.wakeJoins <- struct{}{}:
	default:
	}
	e.emit(Event{Kind: JoinsChanged, Note: id})
}

// claimJoin marks a join of note id as under way; false if one already is
// (an attempt of the retry loop, or another Join).
func (e *Engine) claimJoin(id crdt.DocumentID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.joining[id] {
		return false
	}
	e.joining[id] = true
	return true
}

// claimCancelledJoin claims id once the retry holding it stops, when that
// retry's pending join was cancelled (it stops within moments: the loop
// cancels it): a user who cancels and joins again is not told a join is
// under way. It gives up when a pending join of id is still kept (a real
// retry is under way), after cancelledJoinWait, or when ctx ends.
func (e *Engine) claimCancelledJoin(ctx context.Context, id crdt.DocumentID) bool {
	deadline := time.Now().Add(cancelledJoinWait)
	for time.Now().Before(deadline) {
		joins, err := e.nb.PendingJoins()
		if err != nil || slices.ContainsFunc(joins, func(j notebook.PendingJoin) bool { return j.DocumentID == id }) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
		if e.claimJoin(id) {
			return true
		}
	}
	return false
}

// cancelledJoinWait bounds how long Join waits for the retry of a
// cancelled pending join to stop.
const cancelledJoinWait = 10 * time.Second

func (e *Engine) releaseJoin(id crdt.DocumentID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.joining, id)
}

// joinRetryDelay is the wait before the next attempt after tries failed
// attempts in this session: JoinRetryMin doubling to JoinRetryMax, ±20%.
func (e *Engine) joinRetryDelay(tries int) time.Duration {
	d := e.cfg.JoinRetryMin
	for i := 1; i < tries && d < e.cfg.JoinRetryMax; i++ {
		d *= 2
	}
	d = min(d, e.cfg.JoinRetryMax)
	return d*4/5 + rand.N(d*2/5+1)
}

// joinAttempt is one retry's outcome, reported to the loop.
type joinAttempt struct {
	id  crdt.DocumentID
	err error
}

// retryPlan is the loop's schedule of one pending join.
type retryPlan struct {
	next   time.Time
	tries  int                // failed attempts this session
	seen   time.Time          // the latest attempt the plan knows of
	cancel context.CancelFunc // of the attempt under way, nil when none
}

// joinLoop retries pending joins until ctx ends. Each attempt runs on a
// goroutine of its own (spawned: Run waits for it), at most
// maxJoinRetries at once; the loop alone schedules and records them.
func (e *Engine) joinLoop(ctx context.Context) {
	start := time.Now()
	plans := map[crdt.DocumentID]*retryPlan{}
	done := make(chan joinAttempt)
	running := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer func() {
		for _, p := range plans {
			if p.cancel != nil {
				p.cancel()
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.wakeJoins:
		case r := <-done:
			running--
			p := plans[r.id]
			if p != nil {
				p.cancel()
				p.cancel = nil
			}
			e.recordAttempt(ctx, r, p)
		}
		joins, err := e.nb.PendingJoins()
		if err != nil {
			// Keep the plans (and attempts under way) as they are.
			e.log.Warn("cannot read the pending joins", "err", err)
			timer.Reset(time.Minute)
			continue
		}
		now := time.Now()
		pending := map[crdt.DocumentID]bool{}
		earliest := now.Add(time.Minute) // also notices joins other processes changed
		for _, j := range joins {
			pending[j.DocumentID] = true
			p := plans[j.DocumentID]
			if p == nil { // found at start (tried at once) or added since
				p = &retryPlan{next: now, seen: start}
				plans[j.DocumentID] = p
			}
			if j.LastTry.After(p.seen) {
				// Tried in this session by someone else (a Join that
				// failed and kept it): go by what it planned.
				p.next, p.seen, p.tries = j.NextTry, j.LastTry, max(p.tries, 1)
			}
			if j.Failed || p.cancel != nil {
				continue
			}
			if !now.Before(p.next) {
				if running >= maxJoinRetries {
					continue // an attempt that ends wakes the loop
				}
				if e.claimJoin(j.DocumentID) {
					actx, cancel := context.WithTimeout(ctx, joinAttemptTimeout)
					p.cancel = cancel
					running++
					if !e.spawn(func(runCtx context.Context) { e.attemptJoin(runCtx, actx, j, done) }) {
						e.releaseJoin(j.DocumentID)
						return
					}
					continue
				}
				p.next = now.Add(time.Second) // a Join of this note is under way: look again soon
			}
			if p.next.Before(earliest) {
				earliest = p.next
			}
		}
		for id, p := range plans {
			if !pending[id] {
				if p.cancel != nil {
					p.cancel() // cancelled by the user: stop the attempt; its result is ignored
					continue   // the plan goes when the attempt reports
				}
				delete(plans, id)
			}
		}
		timer.Reset(max(earliest.Sub(now), 10*time.Millisecond))
	}
}

// attemptJoin tries a pending join once (bounded by ctx) and reports to
// the loop, unless Run is stopping (runCtx).
func (e *Engine) attemptJoin(runCtx, ctx context.Context, j notebook.PendingJoin, done chan<- joinAttempt) {
	defer e.releaseJoin(j.DocumentID)
	var addrs []ma.Multiaddr
	for _, s := range j.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			addrs = append(addrs, a)
		}
	}
	infos, err := peer.AddrInfosFromP2pAddrs(addrs...)
	switch {
	case err != nil:
		err = fmt.Errorf("the ticket's addresses are not valid: %w", err)
	case len(infos) == 0:
		err = errors.New("the ticket holds no address")
	default:
		e.log.Debug("retrying a pending join", "note", j.DocumentID, "attempt", j.Attempts+1)
		err = e.join(ctx, j.DocumentID, infos, nil, "", true)
	}
	select {
	case done <- joinAttempt{id: j.DocumentID, err: err}:
	case <-runCtx.Done(): // the loop has stopped
	}
}

// recordAttempt stores an attempt's outcome with its pending join: gone
// once the note has arrived, else when to try next and why it failed.
func (e *Engine) recordAttempt(ctx context.Context, r joinAttempt, p *retryPlan) {
	if ctx.Err() != nil {
		return // stopping: the attempt was cut short, not failed
	}
	if r.err == nil {
		if err := e.nb.RemovePendingJoin(r.id); err != nil && !errors.Is(err, notebook.ErrNoPendingJoin) {
			e.log.Warn("cannot forget a completed pending join", "note", r.id, "err", err)
		}
		e.log.Info("pending join completed: the note has arrived", "note", r.id)
		e.joinsChanged(r.id)
		return
	}
	if p == nil || errors.Is(r.err, context.Canceled) {
		return // cancelled by the user meanwhile
	}
	// An attempt that ran out of time (a slow link, a long note) is tried
	// again too.
	var pe *PeerError
	retry := (errors.As(r.err, &pe) && pe.retry) || errors.Is(r.err, context.DeadlineExceeded)
	now := time.Now()
	p.seen = now
	var wait time.Duration
	if retry {
		p.tries++
		wait = e.joinRetryDelay(p.tries)
		p.next = now.Add(wait)
	}
	err := e.nb.UpdatePendingJoin(r.id, func(j *notebook.PendingJoin) bool {
		j.Attempts++
		j.LastTry, j.LastError = now, r.err.Error()
		j.Failed = !retry
		j.NextTry = time.Time{}
		if retry {
			j.NextTry = p.next
		}
		return true
	})
	if err != nil && !errors.Is(err, notebook.ErrNoPendingJoin) {
		e.log.Warn("cannot record a pending join's attempt", "note", r.id, "err", err)
	}
	if retry {
		e.log.Debug("pending join: inviter still unreachable", "note", r.id, "err", r.err, "next", wait.Round(time.Millisecond))
	} else {
		e.log.Warn("pending join failed for good; it stays listed until cancelled", "note", r.id, "err", r.err)
	}
	e.joinsChanged(r.id)
}

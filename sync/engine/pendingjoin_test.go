package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

// quickRetries makes pending joins retry within a second or so.
func quickRetries(c *Config) {
	c.JoinRetryMin = 200 * time.Millisecond
	c.JoinRetryMax = time.Second
}

// offlineInviter is ann, who made a note with text and then stopped: the
// ticket bob has names her port, where nothing answers until she restarts
// on it (restartAnn).
func offlineInviter(t *testing.T, text string) (ann *testPeer, id crdt.DocumentID, ticket ma.Multiaddr) {
	t.Helper()
	return offlineInviterNamed(t, "ann", text)
}

func offlineInviterNamed(t *testing.T, name, text string) (ann *testPeer, id crdt.DocumentID, ticket ma.Multiaddr) {
	t.Helper()
	ann = newPeer(t, name)
	id = ann.create("plans", text)
	ticket = ann.addr()
	port, err := ticket.ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	ann.listen = "/ip4/127.0.0.1/tcp/" + port
	ann.stop()
	return ann, id, ticket
}

// joinEvents counts JoinsChanged events per note, and notes whether one
// came when no join was pending any more (what a UI then shows).
type joinEvents struct {
	mu        sync.Mutex
	seen      map[crdt.DocumentID]int
	noneAfter bool
}

func watchJoins(p *testPeer) *joinEvents {
	w := &joinEvents{seen: map[crdt.DocumentID]int{}}
	eng := p.eng
	cancel := eng.Subscribe(func(ev Event) {
		if ev.Kind == JoinsChanged {
			none := len(eng.PendingJoins()) == 0
			w.mu.Lock()
			w.seen[ev.Note]++
			w.noneAfter = none
			w.mu.Unlock()
		}
	})
	p.tb.Cleanup(cancel)
	return w
}

func (w *joinEvents) settled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.noneAfter
}

func (w *joinEvents) count(id crdt.DocumentID) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[id]
}

// waitJoined waits (bounded) until p's pending join of id has completed:
// the join is gone and the note is in the notebook.
func waitJoined(t *testing.T, p *testPeer, id crdt.DocumentID) {
	t.Helper()
	waitFor(t, 20*time.Second, "the pending join to complete", func() bool {
		ids, err := p.nb.IDs()
		return err == nil && slices.Contains(ids, id) && len(pendingIDs(p)) == 0
	})
}

func pendingIDs(p *testPeer) []crdt.DocumentID {
	var out []crdt.DocumentID
	joins, err := p.nb.PendingJoins()
	if err != nil {
		p.tb.Fatal(err)
	}
	for _, j := range joins {
		out = append(out, j.DocumentID)
	}
	return out
}

// A join whose inviter is offline is kept pending, says why in plain
// words, and completes in the background once the inviter is back at the
// ticket's address: the note and its text arrive, the pending join is
// gone, and subscribers hear of it.
func TestPendingJoinCompletesWhenInviterReturns(t *testing.T) {
	ann, id, ticket := offlineInviter(t, "meet at noon\n")
	bob := newPeer(t, "bob", quickRetries)
	events := watchJoins(bob)

	err := bob.eng.Join(t.Context(), id, []ma.Multiaddr{ticket})
	var pending *PendingError
	if !errors.As(err, &pending) || !errors.Is(err, ErrJoinPending) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("join to an offline inviter: %v (%T); want a PendingError", err, err)
	}
	if !strings.HasPrefix(err.Error(), "couldn't reach the peer ") || !strings.Contains(err.Error(), "is collab running there?") {
		t.Errorf("pending join says %q; want why in plain words", err)
	}
	if pending.Note != id || pending.NextTry.Before(time.Now()) {
		t.Errorf("PendingError = %+v", pending)
	}
	if ids, _ := bob.nb.IDs(); len(ids) != 0 {
		t.Errorf("a pending join left notes behind: %v", ids)
	}
	joins := bob.eng.PendingJoins()
	if len(joins) != 1 || joins[0].DocumentID != id || joins[0].LastError != err.Error() || joins[0].Failed {
		t.Fatalf("bob's pending joins: %+v", joins)
	}
	waitFor(t, 5*time.Second, "a JoinsChanged event for the pending join", func() bool { return events.count(id) > 0 })
	// The retries keep failing while ann is away, and are recorded.
	waitFor(t, 10*time.Second, "a retry recorded", func() bool {
		j, err := bob.nb.PendingJoin(id)
		return err == nil && j.Attempts >= 2 && !j.NextTry.IsZero()
	})

	ann.start()
	waitJoined(t, bob, id)
	waitText(t, id, "meet at noon\n", bob)
	if joins := bob.eng.PendingJoins(); len(joins) != 0 {
		t.Errorf("pending joins after the join completed: %+v", joins)
	}
	waitFor(t, 5*time.Second, "a JoinsChanged event after the join completed", events.settled)
	// ann is a known peer of the note now: edits flow as after any join.
	ann.edit(id, 0, 0, "update: ")
	waitText(t, id, "update: meet at noon\n", bob)
}

// A pending join found at start (kept by an earlier process, such as a
// `collab join` with no collab running) is retried at once.
func TestPendingJoinFromEarlierRun(t *testing.T) {
	ann, id, ticket := offlineInviter(t, "from before\n")
	bob := newPeer(t, "bob", func(c *Config) { c.NoJoinRetries = true })
	err := bob.eng.Join(t.Context(), id, []ma.Multiaddr{ticket})
	if !errors.Is(err, ErrJoinPending) {
		t.Fatalf("join: %v", err)
	}
	bob.stop()
	ann.start()
	bob.cfg = quickRetries
	bob.start()
	waitJoined(t, bob, id)
	waitText(t, id, "from before\n", bob)
}

// A cancelled pending join is not retried: when the inviter is back, bob
// still lacks the note (while another join from ann works).
func TestPendingJoinCancel(t *testing.T) {
	ann, id, ticket := offlineInviter(t, "never mind\n")
	bob := newPeer(t, "bob", quickRetries)
	if err := bob.eng.Join(t.Context(), id, []ma.Multiaddr{ticket}); !errors.Is(err, ErrJoinPending) {
		t.Fatalf("join: %v", err)
	}
	if err := bob.eng.CancelJoin(id); err != nil {
		t.Fatal(err)
	}
	if err := bob.eng.CancelJoin(id); !errors.Is(err, notebook.ErrNoPendingJoin) {
		t.Errorf("cancelling twice: %v", err)
	}
	if joins := bob.eng.PendingJoins(); len(joins) != 0 {
		t.Fatalf("pending joins after cancel: %+v", joins)
	}
	ann.start()
	other := ann.create("other", "other text\n")
	if err := bob.join(other, ann); err != nil {
		t.Fatal(err)
	}
	// Several retry periods have passed since the cancel.
	time.Sleep(1500 * time.Millisecond)
	if ids, _ := bob.nb.IDs(); slices.Contains(ids, id) {
		t.Errorf("the cancelled join fetched the note anyway")
	}
	if ids := pendingIDs(bob); len(ids) != 0 {
		t.Errorf("pending joins: %v", ids)
	}
}

// Only an unreachable inviter makes a join pending: a ticket without a
// peer ID, an inviter that lacks the note, and a ticket naming this very
// peer fail at once and leave nothing to retry.
func TestJoinFailuresNotKeptPending(t *testing.T) {
	ann := newPeer(t, "ann")
	bob := newPeer(t, "bob", quickRetries)
	id := crdt.NewDocumentID()

	noPeer, _ := ma.NewMultiaddr(strings.Split(ann.addr().String(), "/p2p/")[0])
	if err := bob.eng.Join(t.Context(), id, []ma.Multiaddr{noPeer}); err == nil || errors.Is(err, ErrJoinPending) {
		t.Errorf("join with a malformed ticket: %v", err)
	}
	err := bob.join(id, ann)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrJoinPending) {
		t.Errorf("join of a note the inviter lacks: %v", err)
	}
	if err := bob.eng.Join(t.Context(), id, []ma.Multiaddr{bob.addr()}); err == nil || errors.Is(err, ErrJoinPending) {
		t.Errorf("join with a ticket of bob's own: %v", err)
	}
	if ids := pendingIDs(bob); len(ids) != 0 {
		t.Errorf("pending joins: %v", ids)
	}
}

// A pending join whose inviter comes back without the note stops being
// retried and says why; it stays listed until cancelled.
func TestPendingJoinFailsForGood(t *testing.T) {
	ann, id, ticket := offlineInviter(t, "gone soon\n")
	bob := newPeer(t, "bob", quickRetries)
	if err := bob.eng.Join(t.Context(), id, []ma.Multiaddr{ticket}); !errors.Is(err, ErrJoinPending) {
		t.Fatalf("join: %v", err)
	}
	if err := ann.nb.Trash(id); err != nil {
		t.Fatal(err)
	}
	ann.start()
	waitFor(t, 15*time.Second, "the pending join to fail for good", func() bool {
		j, err := bob.nb.PendingJoin(id)
		return err == nil && j.Failed
	})
	j, _ := bob.nb.PendingJoin(id)
	if !strings.Contains(j.LastError, "doesn't have this note") || !j.NextTry.IsZero() {
		t.Errorf("failed pending join: %+v", j)
	}
	attempts := j.Attempts
	time.Sleep(1500 * time.Millisecond) // several retry periods
	if j, _ := bob.nb.PendingJoin(id); j.Attempts != attempts {
		t.Errorf("a failed pending join was tried again (%d attempts, then %d)", attempts, j.Attempts)
	}
}

// No more than notebook.MaxPendingJoins joins are kept: the next join to
// an offline inviter fails, saying so, and is not kept.
func TestPendingJoinsBoundedInEngine(t *testing.T) {
	_, _, ticket := offlineInviter(t, "x")
	bob := newPeer(t, "bob", func(c *Config) { c.NoJoinRetries = true })
	for i := range notebook.MaxPendingJoins {
		if err := bob.eng.Join(t.Context(), crdt.NewDocumentID(), []ma.Multiaddr{ticket}); !errors.Is(err, ErrJoinPending) {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	err := bob.eng.Join(t.Context(), crdt.NewDocumentID(), []ma.Multiaddr{ticket})
	if errors.Is(err, ErrJoinPending) || !errors.Is(err, notebook.ErrTooManyPendingJoins) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("join %d: %v", notebook.MaxPendingJoins+1, err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%d joins are pending already", notebook.MaxPendingJoins)) {
		t.Errorf("error does not say why it is not kept: %v", err)
	}
	if n := len(pendingIDs(bob)); n != notebook.MaxPendingJoins {
		t.Errorf("%d pending joins kept", n)
	}
}

// Joins, cancels and inviters going away and coming back, in a random
// order (seeded; the seed is logged): whatever the interleaving of bob's
// own joins with the background retries, every join bob did not cancel
// ends with the note and its text once the inviters are up, a cancelled
// one is never retried, and nothing is left pending or marked failed.
func TestPendingJoinsRandomised(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))

	type inviter struct {
		p    *testPeer
		up   bool
		addr ma.Multiaddr
	}
	type shared struct {
		id   crdt.DocumentID
		from *inviter
		text string
	}
	var inviters []*inviter
	var notes []*shared
	for i := range 3 {
		name := fmt.Sprintf("inviter%d", i)
		p, id, ticket := offlineInviterNamed(t, name, name+" note 0\n")
		inv := &inviter{p: p, addr: ticket}
		inviters = append(inviters, inv)
		notes = append(notes, &shared{id: id, from: inv, text: name + " note 0\n"})
		// A second note of the same inviter: made while it is down, at the
		// same address.
		text := name + " note 1\n"
		n, err := p.nb.Create("second")
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Splice(0, 0, text); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		notes = append(notes, &shared{id: n.ID, from: inv, text: text})
	}
	bob := newPeer(t, "bob", quickRetries)

	wanted := map[crdt.DocumentID]bool{} // the last word on it was a join
	for step := range 40 {
		switch op := rng.IntN(10); {
		case op < 5:
			s := notes[rng.IntN(len(notes))]
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			err := bob.eng.Join(ctx, s.id, []ma.Multiaddr{s.from.addr})
			cancel()
			t.Logf("step %d: join %s (inviter up: %v): %v", step, s.id, s.from.up, err)
			ids, _ := bob.nb.IDs()
			switch {
			case err == nil, errors.Is(err, ErrJoinPending):
			case strings.Contains(err.Error(), "under way already"): // the loop is trying it
			case errors.Is(err, ErrUnreachable) && slices.Contains(ids, s.id):
				// bob has the note already: its peers are redialled, no
				// join is kept.
			default:
				t.Fatalf("step %d: join: %v", step, err)
			}
			wanted[s.id] = true
		case op < 7:
			s := notes[rng.IntN(len(notes))]
			err := bob.eng.CancelJoin(s.id)
			t.Logf("step %d: cancel %s: %v", step, s.id, err)
			if err != nil && !errors.Is(err, notebook.ErrNoPendingJoin) {
				t.Fatalf("step %d: cancel: %v", step, err)
			}
			if err == nil {
				wanted[s.id] = false
			}
		default:
			inv := inviters[rng.IntN(len(inviters))]
			if inv.up {
				inv.p.stop()
			} else {
				inv.p.start()
			}
			inv.up = !inv.up
			t.Logf("step %d: %s up: %v", step, inv.p.name, inv.up)
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
	}
	for _, inv := range inviters {
		if !inv.up {
			inv.p.start()
		}
	}
	waitFor(t, 30*time.Second, "no join pending", func() bool {
		joins, err := bob.nb.PendingJoins()
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range joins {
			if j.Failed {
				t.Fatalf("pending join %s failed: %s", j.DocumentID, j.LastError)
			}
		}
		return len(joins) == 0
	})
	ids, err := bob.nb.IDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range notes {
		if wanted[s.id] {
			if !slices.Contains(ids, s.id) {
				t.Errorf("%s: joined, not cancelled, but not in bob's notebook", s.id)
				continue
			}
			waitText(t, s.id, s.text, bob)
		}
	}
}

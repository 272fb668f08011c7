package engine

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/crdt/amformat"
)

// Issue 8, forged authorship: a member forges a change under another
// member's actor ID and next sequence number while that member is offline.
// Divergence must never be silent, and the victim's edits must still arrive.

// isolate cuts p off the network: its connections to others close and no
// dial between p and them succeeds until heal(o) lets p and o reach each
// other again.
func isolate(t *testing.T, p *testPeer, others ...*testPeer) (heal func(o *testPeer)) {
	t.Helper()
	port := func(a ma.Multiaddr) string { v, _ := a.ValueForProtocol(ma.P_TCP); return v }
	portsOf := func(q *testPeer) []string {
		var out []string
		for _, a := range q.host.LibP2P().Addrs() {
			out = append(out, port(a))
		}
		return out
	}
	var mu sync.Mutex
	healed := map[string]bool{} // ports p may dial again
	own := portsOf(p)
	fromP := func(a ma.Multiaddr) bool {
		mu.Lock()
		defer mu.Unlock()
		return healed[port(a)]
	}
	toP := func(a ma.Multiaddr) bool { return !slices.Contains(own, port(a)) }
	p.dialOK.Store(&fromP)
	for _, o := range others {
		o.dialOK.Store(&toP)
	}
	for _, o := range others {
		p.host.LibP2P().Network().ClosePeer(o.host.ID())
	}
	waitFor(t, 10*time.Second, p.name+" cut off", func() bool {
		for _, o := range others {
			if len(p.host.LibP2P().Network().ConnsToPeer(o.host.ID())) > 0 {
				return false
			}
		}
		return true
	})
	return func(o *testPeer) {
		mu.Lock()
		for _, port := range portsOf(o) {
			healed[port] = true
		}
		mu.Unlock()
		o.dialOK.Store(nil)
	}
}

// lastOwnChange is the actor and sequence number of author's newest change
// in p's copy of the note.
func lastOwnChange(t *testing.T, p *testPeer, id crdt.DocumentID, author string) (actor string, seq uint64) {
	t.Helper()
	hist, err := p.note(id).History()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range hist {
		if c.Author == author && c.Seq >= seq {
			actor, seq = c.Actor, c.Seq
		}
	}
	if actor == "" {
		t.Fatalf("%s holds no change by %s", p.name, author)
	}
	return actor, seq
}

// forge makes, on p's copy of the note, a change that inserts text at pos
// and claims to be change seq of actor: what a hostile member can send.
func forge(t *testing.T, p *testPeer, id crdt.DocumentID, actor string, seq uint64, pos int, text string) []byte {
	t.Helper()
	doc, err := p.note(id).Save()
	if err != nil {
		t.Fatal(err)
	}
	scratch, _, err := crdt.Load(doc, nil, "forger")
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	if err := scratch.Splice(pos, 0, text); err != nil {
		t.Fatal(err)
	}
	made, err := scratch.Commit()
	if err != nil || len(made) != 1 {
		t.Fatalf("commit: %v, %d changes", err, len(made))
	}
	c, err := amformat.DecodeChange(made[0].Bytes)
	if err != nil {
		t.Fatal(err)
	}
	reassign(t, c, actor)
	c.Seq = seq
	c.Message = fmt.Sprintf("%s: +%d -0", "ann", len([]rune(text)))
	c.Rehash()
	return c.Encode()
}

// reassign makes actor (hex) the change's own actor.
func reassign(t *testing.T, c *amformat.Change, actor string) {
	t.Helper()
	raw, err := hex.DecodeString(actor)
	if err != nil {
		t.Fatal(err)
	}
	c.SetActor(amformat.ActorID(raw))
}

// statusWatch samples what each peer says of its collaborators and
// records every "in sync" said while the two copies' heads differed.
type statusWatch struct {
	mu       sync.Mutex
	lies     []string
	stop     chan struct{}
	done     chan struct{}
	diverged map[string]bool // "who saw whom" diverged, e.g. "bob>ann"
}

func watchStatus(id crdt.DocumentID, peers ...*testPeer) *statusWatch {
	w := &statusWatch{stop: make(chan struct{}), done: make(chan struct{}), diverged: map[string]bool{}}
	byID := map[string]*testPeer{}
	for _, p := range peers {
		byID[p.eng.self] = p
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			for _, p := range peers {
				for _, ps := range p.eng.Peers(id) {
					q := byID[ps.ID]
					if q == nil {
						continue
					}
					if ps.Diverged != "" {
						w.mu.Lock()
						w.diverged[p.name+">"+q.name] = true
						w.mu.Unlock()
					}
					if !ps.Connected || !ps.InSync {
						continue
					}
					// Heads are read after the status: copies that were
					// equal and moved on together are told apart from
					// copies that never were by reading twice.
					mine, theirs := p.eng.headsOf(id), q.eng.headsOf(id)
					if crdt.SameHeads(mine, theirs) {
						continue
					}
					time.Sleep(300 * time.Millisecond)
					if stillSays(p, id, ps.ID) && !crdt.SameHeads(p.eng.headsOf(id), q.eng.headsOf(id)) {
						w.mu.Lock()
						w.lies = append(w.lies, fmt.Sprintf("%s says in sync with %s, heads %d vs %d", p.name, q.name, len(mine), len(theirs)))
						w.mu.Unlock()
					}
				}
			}
		}
	}()
	return w
}

func stillSays(p *testPeer, id crdt.DocumentID, pid string) bool {
	for _, ps := range p.eng.Peers(id) {
		if ps.ID == pid {
			return ps.Connected && ps.InSync
		}
	}
	return false
}

func (w *statusWatch) end() (lies []string, diverged map[string]bool) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lies, w.diverged
}

// headsOf is the note's heads as this engine's copy has them now.
func (e *Engine) headsOf(id crdt.DocumentID) []crdt.ChangeHash {
	n, err := e.Open(id)
	if err != nil {
		return nil
	}
	hs, err := n.Heads()
	if err != nil {
		return nil
	}
	return hs
}

// Ann goes offline and types; mallory forges a change under ann's actor and
// next sequence number and syncs it to bob; ann comes back, to bob and
// mallory in a seeded order. Ann's edits reach bob, all three end with
// equal heads and the same text holding ann's edits exactly once, the
// divergence was shown for the right peers while it lasted, and no one
// said "in sync" while heads differed.
func TestForgedSeqDivergenceIsShownAndRecovered(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			forgedSeqCase(t, seed, false)
		})
	}
}

// The same when ann's offline edits were made in an earlier session: she
// restarts (a fresh actor) before she hears of the forgery, and still
// recognises the actor as hers.
func TestForgedSeqRecoveredAcrossRestart(t *testing.T) {
	forgedSeqCase(t, 3, true)
}

func forgedSeqCase(t *testing.T, seed uint64, restart bool) {
	rng := rand.New(rand.NewPCG(seed, seed))
	fast := func(c *Config) { c.RedialMax = 500 * time.Millisecond }
	ann, bob, mal := newPeer(t, "ann", fast), newPeer(t, "bob", fast), newPeer(t, "mallory", fast)
	id := ann.create("shared", "base line\n")
	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	if err := mal.join(id, ann, bob); err != nil {
		t.Fatal(err)
	}
	ann.edit(id, 0, 0, "ann online\n")
	waitText(t, id, "ann online\nbase line\n", ann, bob, mal)
	waitFor(t, 20*time.Second, "mallory and bob connected", func() bool { return mal.connectedTo(bob) })

	heal := isolate(t, ann, bob, mal)
	// Ann types while offline: her next changes take her next seqs.
	ann.edit(id, ann.note(id).Len(), 0, "ann offline 1\n")
	ann.edit(id, ann.note(id).Len(), 0, "ann offline 2\n")
	if restart {
		ann.stop()
	}
	// Mallory, who knows ann's actor and last seq from the history she
	// holds, forges ann's next change and hands it to bob.
	actor, seq := lastOwnChange(t, mal, id, "ann")
	forged := forge(t, mal, id, actor, seq+1, 0, "FORGED\n")
	if err := mal.note(id).ApplyRemote("forger", forged); err != nil {
		t.Fatal(err)
	}
	waitText(t, id, "FORGED\nann online\nbase line\n", bob, mal)

	order := []*testPeer{bob, mal}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var w *statusWatch
	if restart {
		heal(bob)
		heal(mal)
		ann.dialOK.Store(nil)
		ann.start()
		w = watchStatus(id, ann, bob, mal)
	} else {
		w = watchStatus(id, ann, bob, mal)
		heal(order[0])
		waitFor(t, 30*time.Second, "ann to take the forged change from "+order[0].name, func() bool {
			return strings.HasPrefix(ann.text(id), "FORGED\n")
		})
		heal(order[1])
	}
	want := "FORGED\nann online\nbase line\nann offline 1\nann offline 2\n"
	waitFor(t, 60*time.Second, "ann's offline edits at bob and mallory, once, heads equal", func() bool {
		for _, p := range []*testPeer{ann, bob, mal} {
			if p.text(id) != want {
				return false
			}
		}
		return crdt.SameHeads(ann.eng.headsOf(id), bob.eng.headsOf(id)) && crdt.SameHeads(bob.eng.headsOf(id), mal.eng.headsOf(id))
	})
	// Everyone says in sync now, and nobody diverged any more.
	for _, p := range []*testPeer{ann, bob, mal} {
		waitFor(t, 20*time.Second, p.name+" in sync", func() bool { return p.eng.Status(id) == InSync })
		for _, ps := range p.eng.Peers(id) {
			if ps.Diverged != "" {
				t.Errorf("%s still shows %s diverged after convergence: %q", p.name, ps.ID, ps.Diverged)
			}
		}
	}
	lies, diverged := w.end()
	for _, l := range lies {
		t.Error(l)
	}
	// Ann refused the forgery from whoever she met first, and showed it.
	// That peer may have refused her original changes in turn (if they
	// crossed her recovery): then it showed that, in plain words.
	first := order[0]
	if restart {
		first = nil
		for _, q := range []*testPeer{bob, mal} {
			if strings.Contains(peerStatusOf(ann, id, q).LastDivergence, "under our own author ID") {
				first = q
			}
		}
		if first == nil {
			t.Fatalf("ann has no divergence on record; saw %v", diverged)
		}
	}
	if last := peerStatusOf(ann, id, first).LastDivergence; !strings.Contains(last, "under our own author ID") {
		t.Errorf("ann's last divergence with %s: %q", first.name, last)
	}
	for _, q := range []*testPeer{bob, mal} {
		last := peerStatusOf(q, id, ann).LastDivergence
		refused := strings.Contains(q.logs.String(), "diverged: a change from the peer collides")
		if refused && !strings.Contains(last, "already have a different change") {
			t.Errorf("%s refused ann's change but has on record %q", q.name, last)
		}
		if !refused && last != "" {
			t.Errorf("%s refused nothing of ann's but has on record %q", q.name, last)
		}
	}
	for k := range diverged {
		if k == "bob>mallory" || k == "mallory>bob" {
			t.Errorf("divergence shown between copies that never refused each other: %s", k)
		}
	}
	t.Logf("divergences seen: %v", diverged)
	// Ann's text survives a restart, and the copies still sync.
	ann.stop()
	ann.start()
	if got := ann.text(id); got != want {
		t.Errorf("ann after restart: %q", got)
	}
	ann.edit(id, 0, 0, "after\n")
	waitText(t, id, "after\n"+want, ann, bob, mal)
}

func peerStatusOf(p *testPeer, id crdt.DocumentID, q *testPeer) PeerStatus {
	for _, ps := range p.eng.Peers(id) {
		if ps.ID == q.eng.self {
			return ps
		}
	}
	return PeerStatus{}
}

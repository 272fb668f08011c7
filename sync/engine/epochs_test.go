package engine

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// offlineEdit stops p, appends text to its copy of id as the user would
// with the engine not running, and leaves it stopped.
func (p *testPeer) offlineEdit(id crdt.DocumentID, text string) {
	p.tb.Helper()
	nb, err := notebook.Open(p.dir, p.name)
	if err != nil {
		p.tb.Fatal(err)
	}
	n, _, err := nb.OpenNote(id)
	if err != nil {
		p.tb.Fatal(err)
	}
	if err := n.Append(text); err != nil {
		p.tb.Fatal(err)
	}
	if err := n.Close(); err != nil {
		p.tb.Fatal(err)
	}
}

func (p *testPeer) epoch(id crdt.DocumentID) uint64 { return p.note(id).EpochNumber() }

// waitEpoch waits until every peer's copy of id is in epoch k.
func waitEpoch(tb testing.TB, id crdt.DocumentID, k uint64, peers ...*testPeer) {
	tb.Helper()
	waitFor(tb, 20*time.Second, "every copy in the new epoch", func() bool {
		for _, p := range peers {
			if p.epoch(id) != k {
				return false
			}
		}
		return true
	})
}

// A shared note is cut by one peer: a connected peer follows at once; a
// peer that was offline, typed meanwhile and lacks the cut's last change
// fetches the epoch before, cuts where ann did, and its offline line
// reaches everyone once. Every copy still lists the history before the cut.
func TestSharedNoteEpochReachesEveryPeer(t *testing.T) {
	ann, bob, cy := newPeer(t, "ann"), newPeer(t, "bob"), newPeer(t, "cy")
	id := ann.create("plan", "one\n")
	for _, p := range []*testPeer{bob, cy} {
		if err := p.join(id, ann); err != nil {
			t.Fatal(err)
		}
	}
	waitText(t, id, "one\n", ann, bob, cy)
	waitFor(t, 10*time.Second, "ann to know both follow epochs", func() bool {
		return ann.note(id).CanCut() == nil
	})

	bob.stop()
	bob.offlineEdit(id, "bob offline\n")
	ann.edit(id, len("one\n"), 0, "ann two\n")
	waitText(t, id, "one\nann two\n", ann, cy)
	if _, err := ann.note(id).StartEpoch(); err != nil {
		t.Fatal(err)
	}
	waitEpoch(t, id, 1, ann, cy)
	cy.edit(id, 0, 0, "cy in epoch 1\n")
	waitText(t, id, "cy in epoch 1\none\nann two\n", ann, cy)

	bob.start()
	waitEpoch(t, id, 1, ann, bob, cy)
	text := waitSame(t, id, ann, bob, cy)
	for _, line := range []string{"one\n", "ann two\n", "bob offline\n", "cy in epoch 1\n"} {
		if strings.Count(text, line) != 1 {
			t.Errorf("the note reads %q: %q is not there once", text, line)
		}
	}
	for _, p := range []*testPeer{ann, bob, cy} {
		hist, err := p.note(id).History()
		if err != nil {
			t.Fatalf("%s: history: %v", p.name, err)
		}
		before := 0
		for _, h := range hist {
			if h.Epoch == 0 {
				before++
			}
		}
		if before == 0 {
			t.Errorf("%s's history does not reach back before the cut", p.name)
		}
	}
}

// A peer that joins a note after its history was cut joins its epoch: it
// gets the epoch's document alone (not the history before) and edits go
// both ways.
func TestJoinACutNote(t *testing.T) {
	ann, bob := newPeer(t, "ann"), newPeer(t, "bob")
	id := ann.create("plan", "")
	for i := range 200 {
		ann.edit(id, i, 0, "x")
	}
	if _, err := ann.note(id).StartEpoch(); err != nil {
		t.Fatal(err)
	}
	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("x", 200)
	waitText(t, id, want, ann, bob)
	if k := bob.epoch(id); k != 1 {
		t.Fatalf("bob joined epoch %d, want 1", k)
	}
	hist, err := bob.note(id).History()
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || !hist[0].BeginsEpoch {
		t.Errorf("bob's history holds %d changes, want the epoch's root alone", len(hist))
	}
	bob.edit(id, 0, 0, "bob ")
	ann.edit(id, ann.note(id).Len(), 0, " ann")
	waitText(t, id, "bob "+want+" ann", ann, bob)
}

// Announcements of epochs that are not the note's are refused, and the
// note, its epoch and its sync with honest peers stay as they were: from a
// peer that does not sync the note with us, for a note we lack, with a
// root that is not what the heads give (a forged cut, or the text at those
// heads differs), with heads we do not hold and nobody sends, or
// malformed (which closes the stream, as any malformed message does).
func TestBadEpochAnnouncementsAreRefused(t *testing.T) {
	ann, bob := newPeer(t, "ann"), newPeer(t, "bob")
	id := ann.create("plan", "keep\n")
	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	waitText(t, id, "keep\n", ann, bob)
	heads, err := ann.note(id).Heads()
	if err != nil {
		t.Fatal(err)
	}
	real := stringsOf(heads)
	forgedRoot := strings.Repeat("ab", 32)
	announce := func(r *rawPeer, note crdt.DocumentID, hs []string, root string) {
		r.send(&wire.CollabEpoch{SenderID: r.id, TargetID: ann.eng.self, DocumentID: note.String(), Epoch: 1, Heads: hs, Root: root})
	}
	drain := func(r *rawPeer, d time.Duration) (asked bool) {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			m, err := r.read(time.Until(deadline))
			if err != nil {
				return
			}
			if q, ok := m.(*wire.Request); ok && q.DocumentID == id.String() {
				asked = true
			}
		}
		return
	}

	mal := dialRaw(t, ann)
	mal.handshake(ann, wire.ExtChange, wire.ExtHeads, wire.ExtEpoch)
	announce(mal, id, real, forgedRoot)                   // it never opened the note with us
	announce(mal, crdt.NewDocumentID(), real, forgedRoot) // a note we lack
	mal.send(&wire.Request{SenderID: mal.id, TargetID: ann.eng.self, DocumentID: id.String(), Data: firstSyncMessage(t)})
	drain(mal, 500*time.Millisecond)
	announce(mal, id, real, forgedRoot) // now a member: the root is not what those heads give
	drain(mal, 500*time.Millisecond)

	eve := dialRaw(t, ann)
	eve.handshake(ann, wire.ExtChange, wire.ExtHeads, wire.ExtEpoch)
	eve.send(&wire.Request{SenderID: eve.id, TargetID: ann.eng.self, DocumentID: id.String(), Data: firstSyncMessage(t)})
	drain(eve, 500*time.Millisecond)
	announce(eve, id, []string{strings.Repeat("cd", 32)}, forgedRoot) // heads nobody has
	if !drain(eve, 2*time.Second) {
		t.Error("ann did not ask for the heads she lacks")
	}

	if k := ann.epoch(id); k != 0 {
		t.Fatalf("ann's note moved to epoch %d", k)
	}
	if got := ann.text(id); got != "keep\n" {
		t.Fatalf("ann's note reads %q", got)
	}
	if !strings.Contains(ann.logs.String(), "refused an epoch announcement") {
		t.Error("no refusal in ann's log")
	}
	shown := false
	for _, p := range ann.eng.Peers(id) {
		shown = shown || (p.ID == mal.id && strings.Contains(p.Diverged, "cut this note's history"))
	}
	if !shown {
		t.Errorf("the refused cut is not shown with mallory's status: %+v", ann.eng.Peers(id))
	}
	// Honest sync goes on.
	bob.edit(id, 0, 0, "still ")
	waitText(t, id, "still keep\n", ann, bob)

	bad := dialRaw(t, ann)
	bad.handshake(ann, wire.ExtChange, wire.ExtHeads, wire.ExtEpoch)
	bad.send(&wire.Request{SenderID: bad.id, TargetID: ann.eng.self, DocumentID: id.String(), Data: firstSyncMessage(t)})
	drain(bad, 500*time.Millisecond)
	announce(bad, id, real, "not a hash")
	bad.waitClosed(5 * time.Second)
	if k := ann.epoch(id); k != 0 {
		t.Fatalf("ann's note moved to epoch %d", k)
	}
}

var epochSeeds = flag.Int("engine.epochseeds", 3, "seeds of the randomised epoch test across peers")

// Three peers edit one note while going offline (and typing there) and
// coming back, and the online ones cut its history twice. Cuts are made as
// the rule has it: by a peer online with the note in sync with its online
// peers. After everyone is back and quiet every copy is in the last epoch,
// reads the same, holds every word anyone typed exactly once, and its
// history reaches back to the note's first epoch.
func TestEpochsAcrossPeersSeeded(t *testing.T) {
	for seed := uint64(1); seed <= uint64(*epochSeeds); seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			epochsAcrossPeers(t, seed)
		})
	}
}

func epochsAcrossPeers(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	peers := []*testPeer{newPeer(t, "ann"), newPeer(t, "bob"), newPeer(t, "cy")}
	for _, p := range peers {
		// A peer comes back where the others last saw it.
		p.listen = p.host.LibP2P().Addrs()[0].String()
	}
	id := peers[0].create("plan", "start\n")
	// Everyone knows everyone: any two that are online sync.
	if err := peers[1].join(id, peers[0]); err != nil {
		t.Fatal(err)
	}
	if err := peers[2].join(id, peers[0], peers[1]); err != nil {
		t.Fatal(err)
	}
	waitText(t, id, "start\n", peers...)
	waitFor(t, 10*time.Second, "every peer to know the others follow epochs", func() bool {
		for _, p := range peers {
			if known, _ := p.note(id).KnownPeers(); len(known) != 2 || p.note(id).CanCut() != nil {
				return false
			}
		}
		return true
	})
	online := []bool{true, true, true}
	var words []string
	cuts := uint64(0)
	onlinePeers := func() []*testPeer {
		var out []*testPeer
		for i, p := range peers {
			if online[i] {
				out = append(out, p)
			}
		}
		return out
	}
	typeWord := func(p *testPeer, offline bool) {
		w := fmt.Sprintf("%s%d ", p.name, len(words))
		words = append(words, w)
		t.Logf("%s types %q (offline: %v)", p.name, w, offline)
		if offline {
			p.offlineEdit(id, w)
			return
		}
		// Between words, so that no word splits another.
		text := p.text(id)
		at := []int{0}
		for j, r := range text {
			if r == ' ' || r == '\n' {
				at = append(at, j+1)
			}
		}
		p.edit(id, at[rng.IntN(len(at))], 0, w)
	}
	for step := 0; step < 16; step++ {
		i := rng.IntN(len(peers))
		p := peers[i]
		switch r := rng.IntN(10); {
		case r < 4:
			typeWord(p, !online[i])
		case r < 6 && online[i] && len(onlinePeers()) > 1:
			t.Logf("step %d: %s goes offline", step, p.name)
			p.stop()
			online[i] = false
			typeWord(p, true)
		case r < 8 && !online[i]:
			t.Logf("step %d: %s comes back", step, p.name)
			p.start()
			online[i] = true
		case cuts < 2 && online[i]:
			// The rule: cut when the note is in sync with every peer that
			// is online (they follow at once); offline ones catch up.
			on := onlinePeers()
			waitEpoch(t, id, cuts, on...)
			waitSame(t, id, on...)
			if _, err := p.note(id).StartEpoch(); err != nil {
				t.Fatalf("step %d: %s cuts: %v", step, p.name, err)
			}
			cuts++
			t.Logf("step %d: %s began epoch %d", step, p.name, cuts)
		}
	}
	for i, p := range peers {
		if !online[i] {
			p.start()
		}
	}
	waitEpoch(t, id, cuts, peers...)
	text := waitSame(t, id, peers...)
	for _, w := range append(words, "start\n") {
		if n := strings.Count(text, w); n != 1 {
			t.Errorf("%q is there %d times in %q", w, n, text)
		}
	}
	for _, p := range peers {
		hist, err := p.note(id).History()
		if err != nil {
			t.Fatalf("%s: history: %v", p.name, err)
		}
		if len(hist) == 0 || hist[0].Epoch != 0 {
			t.Errorf("%s's history does not begin in epoch 0", p.name)
		}
	}
}

// A note typed keystroke by keystroke is cut by the rule once it is idle
// and in sync with its peers, and the peer follows; one whose history is
// shorter than its text is left whole.
func TestAutoCutOfALongHistory(t *testing.T) {
	rule := func(c *Config) { c.AutoCut, c.IdleAfter = 60, 300*time.Millisecond }
	ann, bob := newPeer(t, "ann", rule), newPeer(t, "bob", rule)
	long := ann.create("keystrokes", "")
	short := ann.create("pasted", strings.Repeat("pasted text ", 20))
	for _, id := range []crdt.DocumentID{long, short} {
		if err := bob.join(id, ann); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 80 {
		ann.edit(long, i, 0, "k")
	}
	waitText(t, long, strings.Repeat("k", 80), ann, bob)
	waitEpoch(t, long, 1, ann, bob)
	bob.edit(long, 0, 0, "bob ")
	waitText(t, long, "bob "+strings.Repeat("k", 80), ann, bob)
	if k := ann.epoch(short); k != 0 {
		t.Errorf("a note of %d characters typed in one change was cut", ann.note(short).Len())
	}
}

// An automerge-repo peer cannot follow a cut: a note it knows keeps its
// one document (StartEpoch refuses), and one cut before it asked for it
// reaches it as the current epoch's document, in plain sync messages.
func TestAutomergeRepoPeersAndEpochs(t *testing.T) {
	ann := newPeer(t, "ann")
	known := ann.create("known to js", "hello js\n")
	cut := ann.create("cut before", "already cut\n")
	if _, err := ann.note(cut).StartEpoch(); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, ann)
	r.send(&wire.Join{SenderID: "js-repo-1", PeerMetadata: wire.PeerMetadata{StorageID: "st-1"}, SupportedProtocolVersions: []string{"1"}})
	if _, err := r.read(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   crdt.DocumentID
		want string
	}{{known, "hello js\n"}, {cut, "already cut\n"}} {
		doc, _, _ := crdt.Load(nil, nil, "js")
		defer doc.Close()
		j := &jsPeer{rawPeer: r, doc: doc, state: doc.NewSyncState(), to: ann.eng.self, id: c.id}
		first, _, _ := doc.GenerateSyncMessage(j.state)
		r.send(&wire.Request{SenderID: "js-repo-1", TargetID: ann.eng.self, DocumentID: c.id.String(), Data: first})
		j.pumpUntil(t, 20*time.Second, func() bool { return j.jsText() == c.want })
		if got := j.jsText(); got != c.want {
			t.Fatalf("the JS copy of %s reads %q, want %q", c.id, got, c.want)
		}
	}
	waitFor(t, 10*time.Second, "ann to remember the JS peer", func() bool {
		peers, _ := ann.note(known).KnownPeers()
		return len(peers) == 1
	})
	if _, err := ann.note(known).StartEpoch(); !errors.Is(err, notebook.ErrShared) {
		t.Fatalf("cutting a note an automerge-repo peer knows: %v, want ErrShared", err)
	}
}

// An invitation to a cut note shows its title, but accepting it joins the
// note as a joiner does (the offer's bytes are of an epoch the new copy
// must adopt first), and the copies then sync.
func TestAcceptAnInvitationToACutNote(t *testing.T) {
	ann, bob := newPeer(t, "ann"), newPeer(t, "bob")
	id := ann.create("cut plans", "the plan\n")
	if _, err := ann.note(id).StartEpoch(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ann.eng.Share(ctx, id, bob.addr()); err != nil {
		t.Fatalf("share: %v", err)
	}
	waitFor(t, 10*time.Second, "the invitation", func() bool {
		invs := bob.eng.Invitations()
		return len(invs) == 1 && invs[0].Title == "cut plans"
	})
	if err := bob.eng.Accept(ctx, id); err != nil {
		t.Fatalf("accept: %v", err)
	}
	waitText(t, id, "the plan\n", ann, bob)
	if k := bob.epoch(id); k != 1 {
		t.Fatalf("bob's copy is in epoch %d, want 1", k)
	}
	bob.edit(id, 0, 0, "bob: ")
	waitText(t, id, "bob: the plan\n", ann, bob)
}

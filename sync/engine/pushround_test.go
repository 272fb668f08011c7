package engine

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/sync/wire"
)

// While pushes reach a collab peer, a sync message from it that brings no
// changes, asks for none and names only changes we hold gets no answer,
// even if its heads are behind ours: the answer would carry changes the
// pushes carried already, the peer would answer that, and while anyone
// types such a round never ends. On the paper note at one change per
// keystroke it made every remote change take ~60 ms to reach the screen
// instead of ~3 (BenchmarkRemoteChangeToScreen).
func TestASyncMessageThePushesCoverGetsNoAnswer(t *testing.T) {
	var annSyncs atomic.Int64
	ann, bob := newPeer(t, "ann"), newPeer(t, "bob")
	ann.stop()
	ann.sent = func(_ peer.ID, m wire.Message, _ int) {
		if _, ok := m.(*wire.Sync); ok {
			annSyncs.Add(1)
		}
	}
	ann.start()
	id := ann.create("typing", "start\n")
	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	waitText(t, id, "start\n", ann, bob)
	waitFor(t, 10*time.Second, "both in sync", func() bool {
		return ann.eng.Status(id) == InSync && bob.eng.Status(id) == InSync
	})
	ann.eng.mu.Lock()
	c := ann.eng.conns[bob.host.ID()]
	ann.eng.mu.Unlock()
	if c == nil || !c.doc(id).isCaughtUp() {
		t.Fatal("ann is not pushing to bob")
	}

	// Bob's message as of now (his heads, a have, no changes, no need),
	// delivered after ann typed more, which reached bob by push.
	bobNote := bob.note(id)
	stale, ok, err := bobNote.GenerateSync(bobNote.NewSyncState())
	if err != nil || !ok {
		t.Fatalf("bob's sync message: %v %v", ok, err)
	}
	ann.edit(id, 0, 0, "typed ")
	waitText(t, id, "typed start\n", ann, bob)
	before := annSyncs.Load()
	if !c.onSync(id, stale, false, 0) {
		t.Fatal("ann refused bob's message")
	}
	time.Sleep(300 * time.Millisecond) // a reply would be written by now
	if n := annSyncs.Load() - before; n != 0 {
		t.Errorf("ann answered with %d sync messages", n)
	}
}

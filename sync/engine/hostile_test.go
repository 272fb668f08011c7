package engine

import (
	"crypto/rand"
	"encoding/base64"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiformats/go-varint"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// Hostile peers on loopback, each case from issue 8: the engine stays up,
// its memory bounded, the note intact, and an honest collaborator syncing.

// sendPartialFrame announces a frame of claim bytes and sends the first n
// of them (or fewer, if the stream is closed first), then stops: the rest
// never comes.
func (r *rawPeer) sendPartialFrame(claim, n int) {
	r.s.SetWriteDeadline(time.Now().Add(60 * time.Second))
	if _, err := r.s.Write(varint.ToUvarint(uint64(claim))); err != nil {
		return
	}
	chunk := make([]byte, 256<<10)
	for sent := 0; sent < n; sent += len(chunk) {
		if _, err := r.s.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
			return
		}
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Eight strangers each send half of a large frame and stop. The engine
// holds no more than its budget for them (on the old code: every byte, about
// 190 MiB), closes the stalled ones when their time is up, and meanwhile a
// collaborator's edits still arrive.
func TestHalfFramesLeaveMemoryBounded(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.FrameTimeout = 5 * time.Second })
	b := newPeer(t, "bob")
	id := a.create("target", "precious text\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	var raws []*rawPeer
	for range 8 {
		r := dialRaw(t, a)
		r.handshake(a)
		raws = append(raws, r)
	}
	before := heapInUse()
	var wg sync.WaitGroup
	for i, r := range raws {
		claim := 60 << 20 // above what a stranger may send at all
		if i%2 == 1 {
			claim = 16 << 20 // allowed, but only two such fit the budget
		}
		wg.Go(func() { r.sendPartialFrame(claim, claim*3/4) })
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // let the engine read what came
	held := int64(heapInUse()) - int64(before)
	t.Logf("heap grew by %d MiB while 8 half-frames were pending", held>>20)
	if held > 80<<20 {
		t.Errorf("8 stalled half-frames from strangers hold %d MiB; want under 80 MiB (budget %d MiB)", held>>20, strangerFrameBudget>>20)
	}

	// The honest collaborator still syncs, both ways.
	a.edit(id, 0, 0, "ann was here\n")
	waitText(t, id, "ann was here\nprecious text\n", a, b)
	b.edit(id, 0, 0, "bob too\n")
	waitText(t, id, "bob too\nann was here\nprecious text\n", a, b)

	// The stalled frames run out of time; their budget comes back, so a
	// new stranger is served again.
	for _, r := range raws {
		r.waitClosed(20 * time.Second)
	}
	waitFor(t, 5*time.Second, "strangers' frame budget given back", func() bool { return a.eng.strangerBytes.Load() == 0 })
	if !strings.Contains(a.logs.String(), "a frame was not finished within 5s") {
		t.Errorf("no stream was closed for a frame that stalled:\n%s", a.logs.String())
	}
	r := dialRaw(t, a)
	r.handshake(a)
	r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: crdt.NewDocumentID().String(), Data: headsOnlySync(nil)})
	m, err := r.read(10 * time.Second)
	if _, ok := m.(*wire.DocUnavailable); !ok || err != nil {
		t.Errorf("a stranger after the attack: reply %#v, %v; want doc-unavailable", m, err)
	}
	if got := a.text(id); got != "bob too\nann was here\nprecious text\n" {
		t.Errorf("note text %q", got)
	}
}

// A frame that has begun must be finished within FrameTimeout, but a stream
// may stay idle between frames for as long as it likes.
func TestStalledFrameIsClosedIdleStreamIsNot(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.FrameTimeout = time.Second })
	idle := dialRaw(t, a)
	idle.handshake(a)
	stalled := dialRaw(t, a)
	stalled.handshake(a)
	stalled.sendPartialFrame(1000, 10)
	stalled.waitClosed(10 * time.Second)

	// The idle stream outlived several frame timeouts and still works.
	time.Sleep(3 * time.Second)
	idle.send(&wire.Request{SenderID: idle.id, TargetID: a.eng.self, DocumentID: crdt.NewDocumentID().String(), Data: headsOnlySync(nil)})
	m, err := idle.read(10 * time.Second)
	if _, ok := m.(*wire.DocUnavailable); !ok || err != nil {
		t.Errorf("idle stream after 3 s: reply %#v, %v; want doc-unavailable", m, err)
	}
}

// A handshake is a few IDs: a stranger cannot make us read a large frame
// before it has even said who it is.
func TestLargeHandshakeIsRefused(t *testing.T) {
	a := newPeer(t, "ann")
	r := dialRaw(t, a)
	r.sendPartialFrame(1<<20, 4096)
	r.waitClosed(10 * time.Second)
	waitFor(t, 5*time.Second, "a logged refusal", func() bool {
		return strings.Contains(a.logs.String(), "handshake message may have at most")
	})
}

// A member that asks for a note again and again and never reads is
// dropped once the replies waiting for it pass SendQueueBytes (1 MiB here,
// 16 MiB by default), long before the write timeout; the collaborator is
// not disturbed.
func TestNonReadingPeerIsDropped(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.SendQueueBytes = 1 << 20 })
	b := newPeer(t, "bob")
	noise := make([]byte, 192<<10)
	rand.Read(noise)
	id := a.create("big", base64.StdEncoding.EncodeToString(noise)) // 256 KiB that does not compress
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}

	r := dialRaw(t, a)
	r.send(&wire.Join{SenderID: r.id, SupportedProtocolVersions: []string{wire.ProtocolVersion},
		PeerMetadata: wire.PeerMetadata{Extensions: []string{wire.ExtChange, wire.ExtDoc, wire.ExtHeads}}})
	if m, err := r.read(5 * time.Second); err != nil {
		t.Fatalf("handshake: %v", err)
	} else if _, ok := m.(*wire.Peer); !ok {
		t.Fatalf("handshake reply %#v", m)
	}
	// Each request from an empty copy is answered with the whole note. We
	// never read any of it.
	dropped := func() bool {
		return strings.Contains(a.logs.String(), "reason=\"send queue full: peer too slow (")
	}
	for i := 0; i < 200 && !dropped(); i++ {
		r.s.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := r.fw.WriteMessage(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: headsOnlySync(nil)}); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, 20*time.Second, "the non-reading peer dropped for its send queue", dropped)
	if logs := a.logs.String(); !strings.Contains(logs, "bytes waiting behind the frame being sent") {
		t.Errorf("the peer was not dropped for the bytes in its send queue:\n%s", logs)
	}
	b.edit(id, 0, 0, "still here ")
	waitFor(t, 20*time.Second, "bob's edit at ann", func() bool { return strings.HasPrefix(a.text(id), "still here ") })
}

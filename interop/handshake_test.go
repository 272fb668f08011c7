package interop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// startGoHost starts a collab libp2p host on 127.0.0.1 with a fresh identity,
// no mDNS and a dial filter that allows loopback only; it is closed when the
// test ends. It returns the host and its dialable address (with /p2p/).
func startGoHost(t *testing.T) (*p2p.Host, string) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := p2p.New(ctx, p2p.Config{
		Identity:    key,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		MDNS:        false,
		DialFilter:  manet.IsIPLoopback,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close host: %v", err)
		}
	})
	var addr string
	for _, a := range h.LibP2P().Addrs() {
		if strings.HasPrefix(a.String(), "/ip4/127.0.0.1/tcp/") {
			addr = a.String() + "/p2p/" + h.ID().String()
			break
		}
	}
	if addr == "" {
		t.Fatalf("host has no loopback TCP address: %v", h.LibP2P().Addrs())
	}
	return h, addr
}

// received is one message the Go side read, with the stream's remote peer.
type received struct {
	from peer.ID
	msg  wire.Message
}

// wireRecorder is a minimal /automerge-repo/1 responder built on collab's
// wire layer: it accepts a join (answering peer, or refusing with error),
// answers every request with doc-unavailable, and reports every message it
// reads, in order, on msgs.
type wireRecorder struct {
	self   string // our senderId: the host's peer ID
	refuse string // if set, answer join with this error message
	// afterPeer, if set, runs right after our peer reply (on the stream's
	// goroutine), e.g. to send requests of our own.
	afterPeer func(fw *wire.FrameWriter, join *wire.Join) error
	msgs      chan received
	errs      chan error
	done      chan struct{}
}

func newWireRecorder(t *testing.T, h *p2p.Host, refuse string) *wireRecorder {
	return newWireRecorderHook(t, h, refuse, nil)
}

func newWireRecorderHook(t *testing.T, h *p2p.Host, refuse string, afterPeer func(*wire.FrameWriter, *wire.Join) error) *wireRecorder {
	r := &wireRecorder{
		afterPeer: afterPeer,
		self:      h.ID().String(),
		refuse:    refuse,
		msgs:      make(chan received, 64),
		errs:      make(chan error, 8),
		done:      make(chan struct{}),
	}
	t.Cleanup(func() { close(r.done) })
	h.LibP2P().SetStreamHandler(wire.ProtocolID, r.handle)
	return r
}

func (r *wireRecorder) report(from peer.ID, m wire.Message) {
	select {
	case r.msgs <- received{from, m}:
	case <-r.done:
	}
}

func (r *wireRecorder) fail(err error) {
	select {
	case r.errs <- err:
	default:
	}
}

func (r *wireRecorder) handle(s network.Stream) {
	defer s.Close()
	from := s.Conn().RemotePeer()
	fr, fw := wire.NewFrameReader(s), wire.NewFrameWriter(s)
	first, err := fr.ReadMessage()
	if err != nil {
		r.fail(fmt.Errorf("read the first message: %w", err))
		_ = s.Reset()
		return
	}
	r.report(from, first)
	join, ok := first.(*wire.Join)
	if !ok {
		r.fail(fmt.Errorf("first message is %s, not join", first.Type()))
		_ = fw.WriteMessage(&wire.ErrorMessage{SenderID: r.self, Message: "expected join"})
		return
	}
	if r.refuse != "" {
		if err := fw.WriteMessage(&wire.ErrorMessage{SenderID: r.self, TargetID: join.SenderID, Message: r.refuse}); err != nil {
			r.fail(fmt.Errorf("write error: %w", err))
		}
		return
	}
	version, err := wire.SelectProtocolVersion(join.SupportedProtocolVersions)
	if err != nil {
		r.fail(err)
		_ = fw.WriteMessage(&wire.ErrorMessage{SenderID: r.self, TargetID: join.SenderID, Message: err.Error()})
		return
	}
	if err := fw.WriteMessage(&wire.Peer{SenderID: r.self, TargetID: join.SenderID, SelectedProtocolVersion: version}); err != nil {
		r.fail(fmt.Errorf("write peer: %w", err))
		return
	}
	if r.afterPeer != nil {
		if err := r.afterPeer(fw, join); err != nil {
			r.fail(err)
			return
		}
	}
	for {
		m, err := fr.ReadMessage()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, network.ErrReset) {
				select {
				case <-r.done: // the test is over; the stream was torn down
				default:
					r.fail(fmt.Errorf("read: %w", err))
				}
			}
			return
		}
		r.report(from, m)
		if req, ok := m.(*wire.Request); ok {
			if err := fw.WriteMessage(&wire.DocUnavailable{SenderID: r.self, TargetID: req.SenderID, DocumentID: req.DocumentID}); err != nil {
				r.fail(fmt.Errorf("write doc-unavailable: %w", err))
				return
			}
		}
	}
}

// next returns the next message the Go side read, failing after timeout.
func (r *wireRecorder) next(t *testing.T, timeout time.Duration) received {
	t.Helper()
	select {
	case got := <-r.msgs:
		return got
	case err := <-r.errs:
		t.Fatalf("Go side: %v", err)
	case <-time.After(timeout):
		t.Fatalf("Go side read nothing within %v", timeout)
	}
	return received{}
}

// checkSyncPayload checks that data is a version-1 automerge sync message
// that automerge-go accepts, and returns the heads it announces.
func checkSyncPayload(t *testing.T, what string, data []byte) []automerge.ChangeHash {
	t.Helper()
	if len(data) == 0 || data[0] != 0x42 {
		t.Fatalf("%s: data is not a version-1 automerge sync message (first bytes % x)", what, data[:min(len(data), 8)])
	}
	msg, err := automerge.NewSyncState(automerge.New()).ReceiveMessage(data)
	if err != nil {
		t.Fatalf("%s: automerge-go rejects the sync payload: %v", what, err)
	}
	return msg.Heads()
}

// TestNodeRepoHandshakeAndDocUnavailable runs a real JavaScript
// automerge-repo (2.5, over js-libp2p) against a go-libp2p host that speaks
// collab's wire layer (package sync): the JS join arrives and decodes, our
// peer reply is accepted, the JS request for a document we lack carries a
// sync message automerge-go reads, our doc-unavailable ends the JS find at
// once, and a document created in JS is announced with an unsolicited sync.
func TestNodeRepoHandshakeAndDocUnavailable(t *testing.T) {
	np := startNodePeer(t)
	h, addr := startGoHost(t)
	rec := newWireRecorder(t, h, "")
	goID := h.ID().String()

	// Handshake: join from JS, peer from us.
	if got := np.Dial(addr); got != goID {
		t.Fatalf("the JS side took our senderId to be %q, want %q", got, goID)
	}
	first := rec.next(t, 5*time.Second)
	join, ok := first.msg.(*wire.Join)
	if !ok {
		t.Fatalf("first message from JS is %T, want *sync.Join", first.msg)
	}
	if first.from.String() != np.PeerID {
		t.Errorf("stream from %s, want the JS libp2p peer %s", first.from, np.PeerID)
	}
	if !slices.Equal(join.SupportedProtocolVersions, []string{"1"}) {
		t.Errorf("join supportedProtocolVersions = %q, want [\"1\"]", join.SupportedProtocolVersions)
	}
	if join.SenderID != np.RepoPeerID {
		t.Errorf("join senderId = %q, want the JS repo's id %q", join.SenderID, np.RepoPeerID)
	}
	if join.PeerMetadata.StorageID != "" || !join.PeerMetadata.IsEphemeral {
		// A repo without storage sends {storageId: undefined, isEphemeral: true}.
		t.Errorf("join peerMetadata = %+v, want no storageId and isEphemeral", join.PeerMetadata)
	}
	select {
	case got := <-rec.msgs:
		t.Fatalf("JS sent %s before it was asked for anything", got.msg.Type())
	default:
	}

	// request for a document nobody has → doc-unavailable → JS gives up at once.
	id := crdt.NewDocumentID()
	start := time.Now()
	ev := np.Find(id.URL(), 20*time.Second)
	elapsed := time.Since(start)
	if ev.Event != "unavailable" {
		t.Fatalf("JS find of an unknown document: %+v, want unavailable", ev)
	}
	if elapsed > 5*time.Second {
		t.Errorf("JS took %v to report unavailable after our doc-unavailable", elapsed)
	}
	got := rec.next(t, time.Second) // already read: it was answered
	req, ok := got.msg.(*wire.Request)
	if !ok {
		t.Fatalf("after join JS sent %T, want *sync.Request", got.msg)
	}
	if req.DocumentID != id.String() || req.SenderID != np.RepoPeerID || req.TargetID != goID {
		t.Fatalf("request = {documentId %q senderId %q targetId %q}, want {%q %q %q}",
			req.DocumentID, req.SenderID, req.TargetID, id.String(), np.RepoPeerID, goID)
	}
	if heads := checkSyncPayload(t, "request", req.Data); len(heads) != 0 {
		t.Errorf("a request from a peer without the document announces heads %v", heads)
	}
	t.Logf("JS find → unavailable in %v (request payload %d bytes)", elapsed.Round(time.Millisecond), len(req.Data))

	// A document created in JS is announced with an unsolicited sync, which
	// collab must treat as an invitation (never answer doc-unavailable).
	url := np.Create("From JS ☃", "héllo from node\n")
	announced, err := crdt.ParseDocumentID(url)
	if err != nil {
		t.Fatalf("JS URL %q: %v", url, err)
	}
	got = rec.next(t, 5*time.Second)
	sy, ok := got.msg.(*wire.Sync)
	if !ok {
		t.Fatalf("after create JS sent %T, want an unsolicited *sync.Sync", got.msg)
	}
	if sy.DocumentID != announced.String() || sy.SenderID != np.RepoPeerID || sy.TargetID != goID {
		t.Fatalf("announcement = {documentId %q senderId %q targetId %q}, want {%q %q %q}",
			sy.DocumentID, sy.SenderID, sy.TargetID, announced.String(), np.RepoPeerID, goID)
	}
	if heads := checkSyncPayload(t, "announcement", sy.Data); len(heads) == 0 {
		t.Errorf("the announcement's sync message has no heads")
	}

	select {
	case err := <-rec.errs:
		t.Fatalf("Go side: %v", err)
	default:
	}
}

// TestNodeRepoRefusedHandshake: when the Go side refuses the join with an
// error message (as collab does on a version mismatch), the JS side's dial
// fails with that message.
func TestNodeRepoRefusedHandshake(t *testing.T) {
	np := startNodePeer(t)
	h, addr := startGoHost(t)
	_, err := wire.SelectProtocolVersion([]string{"2", "3"})
	if err == nil {
		t.Fatal("SelectProtocolVersion accepted [2 3]")
	}
	rec := newWireRecorder(t, h, err.Error())

	ev := np.Try(map[string]any{"cmd": "dial", "addr": addr}, 10*time.Second)
	if ev.Event != "error" || !strings.Contains(ev.Error, err.Error()) {
		t.Fatalf("dial refused by the Go side: %+v, want an error naming %q", ev, err.Error())
	}
	if got := rec.next(t, time.Second); got.msg.Type() != wire.MsgJoin {
		t.Fatalf("Go side read %s, want join", got.msg.Type())
	}
	t.Logf("JS dial error: %s", ev.Error)
}

// TestNodeRepoAnnounceNone: started with --announce=none, the JS repo keeps
// a document it creates to itself (its share policy says no) until someone
// asks for it.
func TestNodeRepoAnnounceNone(t *testing.T) {
	np := startNodePeer(t, "--announce=none")
	h, addr := startGoHost(t)
	rec := newWireRecorder(t, h, "")
	np.Dial(addr)
	if got := rec.next(t, 5*time.Second); got.msg.Type() != wire.MsgJoin {
		t.Fatalf("Go side read %s, want join", got.msg.Type())
	}
	np.Create("quiet", "not announced")
	select {
	case got := <-rec.msgs:
		t.Fatalf("JS sent %s although its share policy announces nothing", got.msg.Type())
	case err := <-rec.errs:
		t.Fatalf("Go side: %v", err)
	case <-time.After(500 * time.Millisecond): // well over JS's 100 ms sync throttle
	}
}

// TestNodeRepoAnswersRequestForUnknownDoc: what collab sees when it asks a
// JS repo for a note the repo does not have: doc-unavailable, possibly
// preceded by a sync of the repo's empty document (automerge-repo 2.5 sends
// one), which must not be mistaken for the note.
func TestNodeRepoAnswersRequestForUnknownDoc(t *testing.T) {
	np := startNodePeer(t)
	h, addr := startGoHost(t)
	id := crdt.NewDocumentID()
	first, ok := automerge.NewSyncState(automerge.New()).GenerateMessage()
	if !ok {
		t.Fatal("automerge-go has no first sync message for an empty document")
	}
	goID := h.ID().String()
	rec := newWireRecorderHook(t, h, "", func(fw *wire.FrameWriter, join *wire.Join) error {
		return fw.WriteMessage(&wire.Request{SenderID: goID, TargetID: join.SenderID, DocumentID: id.String(), Data: first.Bytes()})
	})
	np.Dial(addr)
	if got := rec.next(t, 5*time.Second); got.msg.Type() != wire.MsgJoin {
		t.Fatalf("Go side read %s, want join", got.msg.Type())
	}
	var before []string
	for {
		got := rec.next(t, 10*time.Second)
		switch m := got.msg.(type) {
		case *wire.DocUnavailable:
			if m.DocumentID != id.String() || m.SenderID != np.RepoPeerID || m.TargetID != goID {
				t.Fatalf("doc-unavailable = %+v", m)
			}
			t.Logf("JS answered a request for an unknown document with %v then doc-unavailable", before)
			return
		case *wire.Sync:
			if m.DocumentID != id.String() {
				t.Fatalf("unexpected sync for %s", m.DocumentID)
			}
			if heads := checkSyncPayload(t, "sync before doc-unavailable", m.Data); len(heads) != 0 {
				t.Fatalf("JS claims heads %v for a document it does not have", heads)
			}
			before = append(before, "sync (no heads)")
		case *wire.Request:
			// JS asks its other peers (here: only us) too; we answer doc-unavailable.
			before = append(before, "request")
		default:
			t.Fatalf("JS sent %s", got.msg.Type())
		}
	}
}

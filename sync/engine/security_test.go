package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

func TestVersionMismatch(t *testing.T) {
	a := newPeer(t, "ann")
	// A peer that speaks only version 2 dials us.
	r := dialRaw(t, a)
	r.send(&wire.Join{SenderID: r.id, SupportedProtocolVersions: []string{"2", "3"}})
	m, err := r.read(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	em, ok := m.(*wire.ErrorMessage)
	if !ok || !strings.Contains(em.Message, "[2 3]") || !strings.Contains(em.Message, "[1]") {
		t.Fatalf("reply %#v; want an error naming [2 3] and [1]", m)
	}
	r.waitClosed(5 * time.Second)
	waitFor(t, 5*time.Second, "a log line", func() bool {
		return strings.Contains(a.logs.String(), "protocol version mismatch")
	})

	// We dial a peer that selects version 2.
	b := newPeer(t, "bob")
	fake := dialRaw(t, b) // only for its host
	fake.host.LibP2P().SetStreamHandler(wire.ProtocolID, func(s network.Stream) {
		fr, fw := wire.NewFrameReader(s), wire.NewFrameWriter(s)
		m, err := fr.ReadMessage()
		if err != nil {
			s.Reset()
			return
		}
		fw.WriteMessage(&wire.Peer{SenderID: fake.id, TargetID: wire.RouteOf(m).Sender, SelectedProtocolVersion: "2"})
		s.Close()
	})
	addr, _ := ma.NewMultiaddr(fake.host.LibP2P().Addrs()[0].String() + "/p2p/" + fake.id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = b.eng.Join(ctx, crdt.NewDocumentID(), []ma.Multiaddr{addr})
	if !errors.Is(err, wire.ErrUnsupportedVersion) || !strings.Contains(err.Error(), `"2"`) || !strings.Contains(err.Error(), "[1]") {
		t.Errorf("join against a version-2 peer: %v", err)
	}
	if !strings.Contains(b.logs.String(), "protocol version mismatch") {
		t.Error("no log line about the version mismatch on the dialling side")
	}
	if ids, _ := b.nb.IDs(); len(ids) != 0 {
		t.Errorf("failed join left %v", ids)
	}
}

// Each kind of misbehaviour closes only the offending stream: the note is
// untouched and another peer keeps syncing.
func TestBadStreamsAreClosed(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.MessageRate = 200 })
	b := newPeer(t, "bob")
	id := a.create("target", "precious text\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	heads := func() []crdt.ChangeHash {
		h, err := a.note(id).Heads()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	empty, _, _ := crdt.Load(nil, nil, "")
	first, _, _ := empty.GenerateSyncMessage(empty.NewSyncState())

	cases := []struct {
		name   string
		reason string
		attack func(r *rawPeer)
	}{
		{"spoofed sender", "spoofed sender", func(r *rawPeer) {
			r.handshake(a)
			r.send(&wire.Sync{SenderID: b.eng.self, TargetID: a.eng.self, DocumentID: id.String(), Data: first})
		}},
		{"join claiming another peer", "is not this stream's peer", func(r *rawPeer) {
			r.send(&wire.Join{SenderID: b.eng.self})
		}},
		{"garbage frame", "malformed message", func(r *rawPeer) {
			r.handshake(a)
			r.fw.WriteFrame([]byte("this is not CBOR at all \xff\xfe"))
		}},
		{"oversized frame", "frame too large", func(r *rawPeer) {
			r.handshake(a)
			r.s.Write([]byte{0x80, 0x80, 0x80, 0x40}) // varint 128 MiB
			r.s.Write(make([]byte, 1024))
		}},
		{"garbage automerge bytes", "could not be applied", func(r *rawPeer) {
			r.handshake(a)
			for range maxSyncFailures {
				r.send(&wire.Sync{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: []byte{0x42, 0xff, 0xff, 0xff, 0x01}})
			}
		}},
		{"garbage pushed change", "malformed collab-change", func(r *rawPeer) {
			r.handshake(a)
			r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: first})
			r.send(&wire.CollabChange{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: []byte("not a change")})
		}},
		{"flood", "flood", func(r *rawPeer) {
			r.handshake(a)
			for range 2000 {
				if err := r.fw.WriteMessage(&wire.Unknown{TypeName: "noise", SenderID: r.id}); err != nil {
					return
				}
			}
		}},
		{"second join", "second join", func(r *rawPeer) {
			r.handshake(a)
			r.send(&wire.Join{SenderID: r.id})
		}},
		{"bad document id", "invalid documentId", func(r *rawPeer) {
			r.handshake(a)
			r.send(&wire.Sync{SenderID: r.id, TargetID: a.eng.self, DocumentID: "not-an-id", Data: first})
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := heads()
			r := dialRaw(t, a)
			tc.attack(r)
			r.waitClosed(10 * time.Second)
			waitFor(t, 5*time.Second, "a logged reason "+tc.reason, func() bool {
				return strings.Contains(a.logs.String(), tc.reason)
			})
			if got := heads(); !crdt.SameHeads(got, before) {
				t.Errorf("note changed: heads %v -> %v", before, got)
			}
			if got := a.text(id); !strings.HasSuffix(got, "precious text\n") {
				t.Errorf("note text %q", got)
			}
			// The honest peer keeps syncing.
			b.edit(id, 0, 0, string(rune('A'+i)))
			want := b.text(id)
			waitText(t, id, want, a, b)
			if !b.connectedTo(a) {
				t.Error("the honest peer was disconnected")
			}
		})
	}
}

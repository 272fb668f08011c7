package main

import (
	"errors"
	"testing"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
)

func TestTicketRoundTrip(t *testing.T) {
	const peer = "12D3KooWGRUVh2VtXUkNRb9QJ5Y9aFL8V6x2J4QpnSxXsQH9Xk5d"
	want := ticket{Doc: crdt.NewDocumentID()}
	for _, s := range []string{"/ip4/127.0.0.1/tcp/4747/p2p/" + peer, "/ip6/::1/udp/4747/quic-v1/p2p/" + peer} {
		want.Addrs = append(want.Addrs, ma.StringCast(s))
	}
	got, err := parseTicket("  " + want.String() + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got.Doc != want.Doc || len(got.Addrs) != 2 || !got.Addrs[1].Equal(want.Addrs[1]) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", want.Doc.URL(), want.Doc.URL() + "#", "automerge:nope#/ip4/1.2.3.4/tcp/1/p2p/" + peer,
		want.Doc.URL() + "#/ip4/127.0.0.1/tcp/4747", want.Doc.URL() + "#garbage"} {
		if _, err := parseTicket(bad); !errors.Is(err, errBadTicket) {
			t.Errorf("parseTicket(%q) = %v", bad, err)
		}
	}
}

func TestJoinArgs(t *testing.T) {
	const peer = "12D3KooWGRUVh2VtXUkNRb9QJ5Y9aFL8V6x2J4QpnSxXsQH9Xk5d"
	id := crdt.NewDocumentID()
	addr := "/ip4/127.0.0.1/tcp/4747/p2p/" + peer
	for _, args := range [][]string{{id.URL() + "#" + addr}, {addr, id.URL()}, {id.URL(), addr}} {
		tk, err := parseJoinArgs(args)
		if err != nil || tk.Doc != id || len(tk.Addrs) != 1 || tk.Addrs[0].String() != addr {
			t.Errorf("parseJoinArgs(%q) = %v, %v", args, tk, err)
		}
	}
	for _, args := range [][]string{nil, {"a", "b", "c"}, {addr}, {id.URL()}} {
		if _, err := parseJoinArgs(args); err == nil {
			t.Errorf("parseJoinArgs(%q) accepted", args)
		}
	}
}

package engine

import (
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

func TestTicketLoopbackAddrsKeptOnlyOverLoopback(t *testing.T) {
	addrs := []ma.Multiaddr{ma.StringCast("/ip4/10.99.0.1/tcp/4747"), ma.StringCast("/ip4/127.0.0.1/tcp/4747")}
	if got := reachableLike(addrs, ma.StringCast("/ip4/10.99.0.1/tcp/4747")); len(got) != 1 || got[0].String() != "/ip4/10.99.0.1/tcp/4747" {
		t.Fatalf("joined over the LAN, kept %v", got)
	}
	if got := reachableLike(addrs, ma.StringCast("/ip4/127.0.0.1/tcp/4747")); len(got) != 2 {
		t.Fatalf("joined over loopback, kept %v", got)
	}
}

package main

import (
	"errors"
	"fmt"
	"strings"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
)

// A ticket is one copy-pasteable line that lets a peer join a note: the
// note's automerge URL, then '#', then the inviting peer's dialable
// addresses (each ending in /p2p/<peer ID>) separated by commas. It is
// readable on purpose: people can see which addresses it would dial.
//
//	automerge:4Nz…#/ip4/192.168.1.20/tcp/4747/p2p/12D3Koo…,/ip4/…/udp/4747/quic-v1/p2p/12D3Koo…
type ticket struct {
	Doc   crdt.DocumentID
	Addrs []ma.Multiaddr
}

var errBadTicket = errors.New("not a collab ticket")

func (t ticket) String() string {
	addrs := make([]string, len(t.Addrs))
	for i, a := range t.Addrs {
		addrs[i] = a.String()
	}
	return t.Doc.URL() + "#" + strings.Join(addrs, ",")
}

func parseTicket(s string) (ticket, error) {
	s = strings.TrimSpace(s)
	url, rest, ok := strings.Cut(s, "#")
	if !ok || rest == "" {
		return ticket{}, fmt.Errorf("%w: expected automerge:<id>#<address>,…", errBadTicket)
	}
	id, err := crdt.ParseDocumentID(url)
	if err != nil {
		return ticket{}, fmt.Errorf("%w: %w", errBadTicket, err)
	}
	t := ticket{Doc: id}
	for _, part := range strings.Split(rest, ",") {
		a, err := ma.NewMultiaddr(strings.TrimSpace(part))
		if err != nil {
			return ticket{}, fmt.Errorf("%w: address %q: %w", errBadTicket, part, err)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
			return ticket{}, fmt.Errorf("%w: address %s lacks /p2p/<peer ID>", errBadTicket, a)
		}
		t.Addrs = append(t.Addrs, a)
	}
	return t, nil
}

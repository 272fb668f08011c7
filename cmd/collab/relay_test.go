package main

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/p2p"
)

// TestRelayAllow: `collab relay on` makes `collab serve` a relay; a peer
// that shares no note with it gets a slot only once the user allows it
// with `collab relay allow` (taken up by the running peer without a
// restart), and loses it to `collab relay deny`; `collab relay` and
// `collab peers` say whom it relays for.
func TestRelayAllow(t *testing.T) {
	home := t.TempDir()
	binOK(t, home, "new", "Plan")
	if out := binOK(t, home, "relay"); !strings.Contains(out, "relay: off") || !strings.Contains(out, "nobody") {
		t.Fatalf("collab relay before anything:\n%s", out)
	}
	if out := binOK(t, home, "relay", "on"); !strings.Contains(out, "relay: on") {
		t.Fatalf("collab relay on:\n%s", out)
	}
	for _, bad := range [][]string{{"allow", "not-a-peer\x1b[2J"}, {"allow"}, {"sideways"}} {
		cmd := binCmd(t, home, append([]string{"relay"}, bad...)...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || strings.Contains(string(out), "\x1b") {
			t.Errorf("collab relay %q: %v, output %q; want a usage error (exit 2), sanitised", bad, err, out)
		}
	}
	ann := startServe(t, home, "ann")
	tk, err := parseTicket(strings.TrimSpace(binOK(t, home, "invite", "Plan")))
	if err != nil {
		t.Fatal(err)
	}
	relayInfo, err := peer.AddrInfoFromP2pAddr(tk.Addrs[0])
	if err != nil {
		t.Fatal(err)
	}

	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := p2p.New(ctx, p2p.Config{Identity: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		DialFilter: func(a ma.Multiaddr) bool { return strings.HasPrefix(a.String(), "/ip4/127.") }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	reserve := func() error {
		if err := h.ConnectPeer(ctx, *relayInfo); err != nil {
			return err
		}
		_, err := client.Reserve(ctx, h.LibP2P(), *relayInfo)
		return err
	}
	if err := reserve(); err == nil {
		t.Fatal("a peer nobody allowed got a relay slot")
	}
	if out := binOK(t, home, "relay", "allow", h.ID().String()); !strings.Contains(out, h.ID().String()) {
		t.Fatalf("collab relay allow:\n%s", out)
	}
	waitFor(t, 10*time.Second, "a slot for the allowed peer", func() bool { return reserve() == nil })
	for _, cmd := range [][]string{{"relay"}, {"peers"}} {
		if out := binOK(t, home, cmd...); !strings.Contains(out, "relaying for:") || !strings.Contains(out, h.ID().String()+": holds a slot") {
			t.Errorf("collab %s does not say whom it relays for:\n%s", cmd[0], out)
		}
	}
	if !strings.Contains(ann.log.String(), "relaying for peer") {
		t.Errorf("the log does not say whom it relays for:\n%s", ann.log.String())
	}
	if st, err := os.Stat(filepath.Join(home, "setting.relay")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("relay settings file: %v, %v; want mode 0600", st, err)
	}

	binOK(t, home, "relay", "deny", h.ID().String())
	if out := binOK(t, home, "relay"); strings.Contains(out, "  "+h.ID().String()+"\n") {
		t.Errorf("a denied peer is still listed as allowed:\n%s", out)
	}
	time.Sleep(1100 * time.Millisecond) // the running peer rereads at most once a second
	if err := reserve(); err == nil {
		t.Error("a denied peer got a slot again")
	}
}

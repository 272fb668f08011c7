package p2p

import (
	"context"
	"fmt"
	"net"
	"testing"
)

// A second collab peer on the same machine must not share the first one's
// default port (libp2p's TCP transport uses SO_REUSEPORT unless told not to).
func TestSecondHostSameDefaultPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := func() Config {
		return Config{Identity: testKey(t), DefaultListenAddrs: []string{
			fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p),
			fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", p),
		}, DialFilter: loopbackGuard().filter, Logger: testLogger(t)}
	}
	a, err := New(context.Background(), cfg())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if n := a.Notices(); len(n) != 0 {
		t.Skipf("port %d was taken meanwhile: %q", p, n)
	}
	b, err := New(context.Background(), cfg())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, la := range b.LibP2P().Network().ListenAddresses() {
		if _, port, _ := transportPort(la); port == fmt.Sprint(p) {
			t.Errorf("second host also listens on %s", la)
		}
	}
	if n := b.Notices(); len(n) != 2 {
		t.Errorf("second host's notices = %q, want two", n)
	}
}

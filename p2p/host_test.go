package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"go.uber.org/goleak"

	"github.com/collab-editor/collab/internal/testkit"
)

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestIdentityPersisted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "identity.key")

	k1, err := LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %#o, want 0600", got)
	}
	if k1.Type() != crypto.Ed25519 {
		t.Errorf("key type = %v, want Ed25519", k1.Type())
	}
	k2, err := LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equals(k2) {
		t.Error("reloaded key differs from the created one")
	}

	// The host's peer ID survives a restart.
	var ids []peer.ID
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		guard := loopbackGuard()
		h, err := New(ctx, Config{
			IdentityPath: path,
			ListenAddrs:  []string{"/ip4/127.0.0.1/tcp/0"},
			DialFilter:   guard.filter,
		})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h.ID())
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want, err := peer.IDFromPrivateKey(k1)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != want || ids[1] != want {
		t.Errorf("peer IDs across restarts = %v, want %v twice", ids, want)
	}
}

func TestIdentityRefusesOpenPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix permissions")
	}
	path := filepath.Join(t.TempDir(), "identity.key")
	if _, err := LoadOrCreateIdentity(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateIdentity(path)
	if err == nil {
		t.Fatal("a 0644 key was accepted")
	}
	if !errors.Is(err, ErrKeyPermissions) {
		t.Errorf("error %v does not wrap ErrKeyPermissions", err)
	}
	if !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Errorf("error %q does not suggest chmod 600", err)
	}
	t.Logf("error: %v", err)
	// The file was left alone.
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode changed to %#o", st.Mode().Perm())
	}
	// And so does New.
	_, err = New(context.Background(), Config{IdentityPath: path, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}})
	if !errors.Is(err, ErrKeyPermissions) {
		t.Errorf("New with a 0644 key: err = %v", err)
	}
}

func TestIdentityRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(path); err == nil {
		t.Fatal("garbage accepted as a key")
	}
}

// addrWith returns the first address of h (with /p2p/) using transport code.
func addrWith(t *testing.T, h *Host, code int) ma.Multiaddr {
	t.Helper()
	for _, a := range h.Addrs() {
		if _, err := a.ValueForProtocol(code); err == nil {
			return a
		}
	}
	t.Fatalf("host has no address with protocol %d: %v", code, h.Addrs())
	return nil
}

func TestConnectAndEcho(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
	}{
		{"tcp", ma.P_TCP},
		{"quic", ma.P_QUIC_V1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listen := []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
			a := newLoopbackHost(t, listen...)
			b := newLoopbackHost(t, listen...)
			b.LibP2P().SetStreamHandler(echoProto, echoHandler)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			id, err := a.Connect(ctx, addrWith(t, b, tc.code))
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if id != b.ID() {
				t.Fatalf("Connect returned %s, want %s", id, b.ID())
			}
			if !a.Connected(b.ID()) {
				t.Fatal("not connected after Connect")
			}
			conns := a.LibP2P().Network().ConnsToPeer(b.ID())
			if len(conns) == 0 {
				t.Fatal("no connection")
			}
			for _, c := range conns {
				if _, err := c.RemoteMultiaddr().ValueForProtocol(tc.code); err != nil {
					t.Errorf("connection over %s, want %s", c.RemoteMultiaddr(), tc.name)
				}
			}

			s, err := a.LibP2P().NewStream(ctx, b.ID(), echoProto)
			if err != nil {
				t.Fatalf("NewStream: %v", err)
			}
			defer s.Close()
			msg := []byte("hello over " + tc.name)
			if _, err := s.Write(msg); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Errorf("echo = %q, want %q", got, msg)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	a := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Connect(ctx, ma.StringCast("/ip4/127.0.0.1/tcp/1")); err == nil {
		t.Error("Connect without /p2p/ succeeded")
	}
	if _, err := a.Connect(ctx, a.Addrs()[0]); err == nil {
		t.Error("Connect to self succeeded")
	}
}

func TestProtect(t *testing.T) {
	a := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0")
	b := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0")
	a.Protect(b.ID(), "collaborator")
	if !a.LibP2P().ConnManager().IsProtected(b.ID(), "collaborator") {
		t.Error("not protected")
	}
	if a.Unprotect(b.ID(), "collaborator") {
		t.Error("still protected after Unprotect")
	}
}

func TestResourceLimitsAboveConnManager(t *testing.T) {
	p := resourceLimits().ToPartialLimitConfig()
	for name, v := range map[string]int{
		"conns":          int(p.System.Conns),
		"conns inbound":  int(p.System.ConnsInbound),
		"conns outbound": int(p.System.ConnsOutbound),
	} {
		if v <= ConnMgrHigh {
			t.Errorf("system %s limit %d not above the connection manager's high water %d", name, v, ConnMgrHigh)
		}
	}
}

// occupy binds a loopback TCP and UDP port pair and returns the port.
func occupy(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			l.Close()
			continue
		}
		t.Cleanup(func() { l.Close(); u.Close() })
		return port
	}
	t.Fatal("no free tcp+udp port pair")
	return 0
}

func TestDefaultPortBusyFallsBack(t *testing.T) {
	port := occupy(t)
	guard := loopbackGuard()
	h, err := New(context.Background(), Config{
		Identity: testKey(t),
		DefaultListenAddrs: []string{
			fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port),
			fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port),
		},
		DialFilter: guard.filter,
		Logger:     testLogger(t),
	})
	if err != nil {
		t.Fatalf("New with a busy default port: %v", err)
	}
	defer h.Close()
	listen := h.ListenAddrs()
	if len(listen) != 2 {
		t.Fatalf("listening on %v, want a tcp and a quic address", listen)
	}
	for _, a := range listen {
		_, p, _ := transportPort(a)
		if p == fmt.Sprint(port) || p == "0" {
			t.Errorf("listening on %s, want a different, concrete port", a)
		}
	}
	notices := h.Notices()
	t.Logf("notices: %q", notices)
	if len(notices) != 2 {
		t.Fatalf("notices = %q, want one for tcp and one for udp", notices)
	}
	for i, proto := range []string{"tcp", "udp"} {
		n := notices[i]
		_, newPort, _ := transportPort(listen[i])
		if !strings.Contains(n, fmt.Sprintf("%s port %d", proto, port)) || !strings.Contains(n, "busy") {
			t.Errorf("notice %q does not say %s port %d is busy", n, proto, port)
		}
		if !strings.Contains(n, "port "+newPort+" instead") && !strings.Contains(n, "instead") {
			t.Errorf("notice %q does not name the new port", n)
		}
	}
	// The new ports are named in the notices.
	joined := strings.Join(notices, "\n")
	for _, a := range listen {
		_, p, _ := transportPort(a)
		if !strings.Contains(joined, "listening on port "+p+" instead") {
			t.Errorf("notices %q do not mention new port %s", notices, p)
		}
	}
}

func TestExplicitBusyAddressFails(t *testing.T) {
	port := occupy(t)
	for _, addr := range []string{
		fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port),
		fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port),
	} {
		h, err := New(context.Background(), Config{
			Identity:    testKey(t),
			ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0", addr},
			DialFilter:  loopbackGuard().filter,
		})
		if err == nil {
			h.Close()
			t.Errorf("New listening on busy %s succeeded", addr)
			continue
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("error %q does not name %s", err, addr)
		}
	}
}

func TestBadListenAddress(t *testing.T) {
	_, err := New(context.Background(), Config{Identity: testKey(t), ListenAddrs: []string{"not-a-multiaddr"}})
	if err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestAddrs(t *testing.T) {
	h := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1", "/ip6/::1/tcp/0")
	addrs := h.Addrs()
	if len(addrs) < 2 {
		t.Fatalf("Addrs = %v", addrs)
	}
	for _, a := range addrs {
		info, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil || info.ID != h.ID() {
			t.Errorf("%s does not end in /p2p/%s", a, h.ID())
		}
		if manet.IsIPUnspecified(a) {
			t.Errorf("unspecified address %s", a)
		}
	}
}

func TestDialableAddrsOrder(t *testing.T) {
	var in []ma.Multiaddr
	for _, s := range []string{
		"/ip4/0.0.0.0/tcp/4747",
		"/ip4/127.0.0.1/tcp/4747",
		"/ip6/::/udp/4747/quic-v1",
		"/ip6/::1/udp/4747/quic-v1",
		"/ip4/192.168.1.20/tcp/4747",
		"/ip6/fe80::1/tcp/4747",
		"/ip4/192.168.1.20/udp/4747/quic-v1",
		"/ip4/8.8.4.4/tcp/4747",
		"/ip4/192.168.1.20/tcp/4747", // duplicate
		"/ip4/192.168.1.20/udp/4747/quic-v1/webtransport",
		"/ip6/2001:4860::8888/udp/4747/quic-v1",
	} {
		in = append(in, ma.StringCast(s))
	}
	var got []string
	for _, a := range dialableAddrs(in) {
		got = append(got, a.String())
	}
	want := []string{
		"/ip4/8.8.4.4/tcp/4747",
		"/ip6/2001:4860::8888/udp/4747/quic-v1",
		"/ip4/192.168.1.20/tcp/4747",
		"/ip4/192.168.1.20/udp/4747/quic-v1",
		"/ip4/127.0.0.1/tcp/4747",
		"/ip6/::1/udp/4747/quic-v1",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("dialableAddrs =\n%q\nwant\n%q", got, want)
	}
}

func TestLANAddrs(t *testing.T) {
	var in []ma.Multiaddr
	for _, s := range []string{
		"/ip4/10.99.0.2/tcp/4747",
		"/ip4/10.99.0.2/udp/4747/quic-v1",
		"/ip4/127.0.0.1/tcp/4747",
		"/ip4/8.8.8.8/tcp/4747",
		"/ip4/0.0.0.0/tcp/4747",
		"/ip4/10.99.0.2/udp/4747/quic-v1/webtransport",
		"/ip4/10.99.0.2/tcp/4747/ws",
		"/dns4/example.com/tcp/4747",
		"/ip6/fd00::5/tcp/4747",
	} {
		in = append(in, ma.StringCast(s))
	}
	var got []string
	for _, a := range lanAddrs(in) {
		got = append(got, a.String())
	}
	want := "/ip4/10.99.0.2/tcp/4747 /ip4/10.99.0.2/udp/4747/quic-v1 /ip6/fd00::5/tcp/4747"
	if strings.Join(got, " ") != want {
		t.Errorf("lanAddrs = %q, want %q", got, want)
	}

	// A peer on this machine keeps its loopback addresses.
	got = nil
	for _, a := range lanAddrs([]ma.Multiaddr{
		ma.StringCast("/ip4/8.8.8.8/tcp/4747"),
		ma.StringCast("/ip4/127.0.0.1/tcp/4747"),
		ma.StringCast("/ip6/::1/udp/4747/quic-v1"),
	}) {
		got = append(got, a.String())
	}
	want = "/ip4/127.0.0.1/tcp/4747 /ip6/::1/udp/4747/quic-v1"
	if strings.Join(got, " ") != want {
		t.Errorf("lanAddrs (loopback only) = %q, want %q", got, want)
	}
}

func TestDiscoveredClosedWithoutMDNS(t *testing.T) {
	h, err := New(context.Background(), Config{
		Identity:    testKey(t),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		DialFilter:  loopbackGuard().filter,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case _, ok := <-h.Discovered():
		if ok {
			t.Error("Discovered delivered without mDNS")
		}
	case <-time.After(time.Second):
		t.Error("Discovered not closed by Close")
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	func() {
		listen := []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
		guard := loopbackGuard()
		mk := func() *Host {
			h, err := New(context.Background(), Config{
				Identity: testKey(t), ListenAddrs: listen, DialFilter: guard.filter,
			})
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		a, b := mk(), mk()
		defer a.Close()
		defer b.Close()
		b.LibP2P().SetStreamHandler(echoProto, echoHandler)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, code := range []int{ma.P_TCP, ma.P_QUIC_V1} {
			if _, err := a.Connect(ctx, addrWith(t, b, code)); err != nil {
				t.Fatal(err)
			}
		}
		s, err := a.LibP2P().NewStream(ctx, b.ID(), echoProto)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Write([]byte("x"))
		buf := make([]byte, 1)
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Fatal(err)
		}
		s.Close()
		guard.check(t)
	}()
	testkit.NoLeaks(t, ignore)
}

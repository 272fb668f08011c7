package p2p

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	manet "github.com/multiformats/go-multiaddr/net"
	"go.uber.org/goleak"

	"github.com/collab-editor/collab/internal/netns"
	"github.com/collab-editor/collab/internal/testkit"
)

// The mDNS test runs each peer in a network namespace of its own, joined by
// a bridge in a third namespace, so that nothing is multicast on the real
// network. The parent test builds the namespaces and re-executes this test
// binary inside each node namespace (TestMDNSChild).

const (
	envChild  = "COLLAB_P2P_NETNS_CHILD" // node name, set for children only
	envDir    = "COLLAB_P2P_NETNS_DIR"   // shared directory for rendezvous files
	envPeers  = "COLLAB_P2P_NETNS_PEERS" // number of nodes
	envLate   = "COLLAB_P2P_NETNS_LATE"  // set if the node's interface comes up later
	nsPrefix  = "collab-p2p-test-"
	nsSubnet  = "10.99.0.0/24"
	mdnsNodes = 2
)

func TestMDNSAcrossNamespaces(t *testing.T) {
	if os.Getenv(envChild) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	netns.Require(t, nsPrefix)

	// Both nodes on a LAN that is up before they start.
	t.Run("ready", func(t *testing.T) { runMDNSScenario(t, "r", false) })
	// The second node starts with its only interface down and without an
	// address: mDNS cannot start at first and must be retried, then pick up
	// the new address.
	t.Run("late-interface", func(t *testing.T) { runMDNSScenario(t, "l", true) })
}

func runMDNSScenario(t *testing.T, tag string, late bool) {
	lan := netns.New(t, nsPrefix, tag, mdnsNodes, func(node int) bool { return late && node > 1 })
	nodes := lan.Nodes
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	outs := make([][]byte, len(nodes))
	errs := make([]error, len(nodes))
	start := time.Now()
	for i, ns := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("n%d", i+1)
			cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, exe,
				"-test.run=^TestMDNSChild$", "-test.v", "-test.count=1", "-test.timeout=100s")
			cmd.Env = append(os.Environ(),
				envChild+"="+name,
				envDir+"="+dir,
				envPeers+"="+strconv.Itoa(len(nodes)),
			)
			if !lan.Up(i + 1) {
				cmd.Env = append(cmd.Env, envLate+"=1")
			}
			cmd.WaitDelay = 5 * time.Second
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	// Bring the late interfaces up once their node has started (and found
	// that mDNS cannot run yet).
	for i := range nodes {
		if lan.Up(i + 1) {
			continue
		}
		started := filepath.Join(dir, fmt.Sprintf("n%d.started", i+1))
		for {
			if _, err := os.Stat(started); err == nil {
				break
			}
			if ctx.Err() != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		lan.BringUp(i + 1)
		t.Logf("brought n%d's interface up after %v", i+1, time.Since(start).Round(time.Millisecond))
	}
	wg.Wait()
	t.Logf("all nodes finished in %v", time.Since(start).Round(time.Millisecond))
	for i, ns := range nodes {
		ok := errs[i] == nil && bytes.Contains(outs[i], []byte("--- PASS: TestMDNSChild"))
		if !ok || testing.Verbose() {
			t.Logf("node %s output:\n%s", ns, outs[i])
		}
		if !ok {
			t.Errorf("node %s failed: %v", ns, errs[i])
		}
	}
}

// TestMDNSChild is one node of TestMDNSAcrossNamespaces; it runs only inside
// a namespace made by that test.
func TestMDNSChild(t *testing.T) {
	name := os.Getenv(envChild)
	if name == "" {
		t.Skip("runs only as a child of TestMDNSAcrossNamespaces")
	}
	dir := os.Getenv(envDir)
	peers, _ := strconv.Atoi(os.Getenv(envPeers))
	ignore := goleak.IgnoreCurrent()

	_, subnet, _ := net.ParseCIDR(nsSubnet)
	guard := loopbackGuard()
	guard.allow = append(guard.allow, subnet)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	// The real defaults: 0.0.0.0 and :: on port 4747, TCP and QUIC.
	h, err := New(ctx, Config{
		Identity:   testKey(t),
		MDNS:       true,
		DialFilter: guard.filter,
		Logger:     testLogger(t),
	})
	cancel()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			h.Close()
		}
	}()
	h.LibP2P().SetStreamHandler(echoProto, echoHandler)
	t.Logf("%s is %s, listening on %v, notices %q", name, h.ID(), h.LibP2P().Network().ListenAddresses(), h.Notices())
	if os.Getenv(envLate) != "" {
		// No multicast interface yet: mDNS must have failed and said so.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(strings.Join(h.Notices(), "\n"), "mDNS") {
			if time.Now().After(deadline) {
				t.Fatalf("no notice about mDNS not running: %q", h.Notices())
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("notices: %q", h.Notices())
		if err := os.WriteFile(filepath.Join(dir, name+".started"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// Wait for the parent to bring eth0 up.
		deadline = time.Now().Add(20 * time.Second)
		for !strings.Contains(fmt.Sprint(h.Addrs()), "/ip4/10.99.0.") {
			if time.Now().After(deadline) {
				t.Fatalf("no LAN address appeared: %v", h.Addrs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Addrs: expanded, no unspecified addresses, loopback last.
	addrs := h.Addrs()
	t.Logf("Addrs: %v", addrs)
	sawLAN, sawLoopback := false, false
	for _, a := range addrs {
		if manet.IsIPUnspecified(a) {
			t.Errorf("Addrs has unspecified %s", a)
		}
		if !strings.HasSuffix(a.String(), "/p2p/"+h.ID().String()) {
			t.Errorf("Addrs has %s without /p2p/<id>", a)
		}
		if strings.HasPrefix(a.String(), "/ip4/10.99.0.") {
			sawLAN = true
		}
		if manet.IsIPLoopback(a) {
			sawLoopback = true
		} else if sawLoopback {
			t.Errorf("non-loopback %s after a loopback address", a)
		}
	}
	if !sawLAN || !sawLoopback {
		t.Errorf("Addrs lacks the LAN or the loopback address: %v", addrs)
	}

	var info struct {
		id  string
		err error
	}
	select {
	case found := <-h.Discovered():
		info.id = found.ID.String()
		t.Logf("discovered and connected to %s at %v after %v", found.ID, found.Addrs, time.Since(start).Round(time.Millisecond))
		if !h.Connected(found.ID) {
			t.Fatalf("reported %s but not connected", found.ID)
		}
		for _, a := range found.Addrs {
			if !strings.HasPrefix(a.String(), "/ip4/10.99.0.") {
				t.Errorf("discovered address %s outside the test LAN", a)
			}
		}
		ectx, ecancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := h.LibP2P().NewStream(ectx, found.ID, echoProto)
		ecancel()
		if err != nil {
			t.Fatalf("NewStream to discovered peer: %v", err)
		}
		msg := []byte("hello from " + name)
		_, err = s.Write(msg)
		if err == nil {
			err = s.CloseWrite()
		}
		var got []byte
		if err == nil {
			got, err = io.ReadAll(s)
		}
		s.Close()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo with discovered peer: %q, %v", got, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("nothing discovered within 30 s; notices %q", h.Notices())
	}

	// Stay up until every node got this far, so nobody closes under a peer
	// that is still testing.
	if err := os.WriteFile(filepath.Join(dir, name+".ok"), []byte(info.id), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		oks, _ := filepath.Glob(filepath.Join(dir, "*.ok"))
		if len(oks) >= peers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d nodes finished", len(oks), peers)
		}
		time.Sleep(50 * time.Millisecond)
	}

	closed = true
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	guard.check(t)
	testkit.NoLeaks(t, ignore)
}

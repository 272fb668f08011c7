package netns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Require skips the test unless network namespaces can be made here
// (Linux, root, iproute2) — under CI=true it fails instead — and removes
// stale namespaces of earlier runs.
func Require(t testing.TB, prefix string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces need linux")
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "not root: cannot create the network namespaces this test runs in")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "iproute2's ip not found: cannot create network namespaces")
	}
	RemoveStale(t, prefix)
	probe := fmt.Sprintf("%s%d-probe", prefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		skipOrFail(t, fmt.Sprintf("ip netns add does not work here (%v: %s)", err, bytes.TrimSpace(out)))
	}
	_ = exec.Command("ip", "netns", "del", probe).Run()
}

// RemoveStale deletes namespaces with prefix left by runs whose process is
// gone, first killing processes still inside them.
func RemoveStale(t testing.TB, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // that run is still going
		}
		pids, _ := exec.CommandContext(ctx, "ip", "netns", "pids", name).Output()
		for _, f := range strings.Fields(string(pids)) {
			if p, err := strconv.Atoi(f); err == nil && p > 1 && p != os.Getpid() {
				t.Logf("killing process %d left in stale namespace %s", p, name)
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
		t.Logf("removing stale namespace %s", name)
		_ = exec.CommandContext(ctx, "ip", "netns", "del", name).Run()
	}
}

// LAN is a bridge and its nodes' namespaces.
type LAN struct {
	Nodes []string // namespace names, node i+1 at 10.99.0.<i+1>
	t     testing.TB
	up    []bool
}

// New makes a LAN of n nodes named <prefix><pid>-<tag>-…; it is deleted
// when the test ends (register it before starting processes inside it, so
// the cleanup runs after they are gone). Nodes for which late returns true
// get their address and link only when BringUp is called.
func New(t testing.TB, prefix, tag string, n int, late func(node int) bool) *LAN {
	t.Helper()
	pid := os.Getpid()
	base := fmt.Sprintf("%s%d-", prefix, pid)
	if tag != "" {
		base += tag + "-"
	}
	br := base + "br"
	l := &LAN{t: t, up: make([]bool, n)}
	var made []string
	t.Cleanup(func() {
		for _, ns := range made {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		}
	})
	for i := range n {
		l.Nodes = append(l.Nodes, fmt.Sprintf("%sn%d", base, i+1))
	}
	for _, ns := range append([]string{br}, l.Nodes...) {
		l.ip("netns", "add", ns)
		made = append(made, ns)
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	l.ip("-n", br, "link", "add", "br0", "type", "bridge")
	// Flood multicast: no IGMP querier runs on this bridge.
	l.ip("-n", br, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0")
	l.ip("-n", br, "link", "set", "br0", "up")
	for i, ns := range l.Nodes {
		veth := fmt.Sprintf("v%d", i+1)
		l.ip("-n", br, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		l.ip("-n", br, "link", "set", veth, "master", "br0")
		l.ip("-n", br, "link", "set", veth, "up")
		l.ip("-n", ns, "link", "set", "eth0", "multicast", "on")
		if late == nil || !late(i+1) {
			l.BringUp(i + 1)
		}
	}
	return l
}

// Up reports whether node (1-based) has its address and link up.
func (l *LAN) Up(node int) bool { return l.up[node-1] }

// BringUp gives node (1-based) its address and sets its link up.
func (l *LAN) BringUp(node int) {
	l.t.Helper()
	if l.up[node-1] {
		return
	}
	ns := l.Nodes[node-1]
	l.ip("-n", ns, "addr", "add", fmt.Sprintf("10.99.0.%d/24", node), "dev", "eth0")
	l.ip("-n", ns, "link", "set", "eth0", "up")
	l.up[node-1] = true
}

func (l *LAN) ip(args ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

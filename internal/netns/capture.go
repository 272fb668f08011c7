package netns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Capture records every packet on every interface of some namespaces (a
// raw AF_PACKET socket per namespace) and keeps those with an address
// outside the allowed ranges: the proof that a test's traffic stayed inside
// the simulated networks.
type Capture struct {
	allowed []netip.Prefix
	stop    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	packets int
	bad     []string
	errs    []error
}

const maxViolations = 50

// StartCapture starts capturing in each namespace. Call Stop (it is also
// called at cleanup).
func StartCapture(t testing.TB, namespaces []string, allowed []netip.Prefix) *Capture {
	t.Helper()
	c := &Capture{allowed: allowed, stop: make(chan struct{})}
	ready := make(chan error, len(namespaces))
	for _, ns := range namespaces {
		c.wg.Add(1)
		go c.run(ns, ready)
	}
	for range namespaces {
		if err := <-ready; err != nil {
			c.Stop()
			t.Fatalf("capture: %v", err)
		}
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// run captures in one namespace. It locks its goroutine to an OS thread and
// never unlocks it: the thread has entered another network namespace, so
// it must die with the goroutine rather than serve other goroutines.
func (c *Capture) run(ns string, ready chan<- error) {
	defer c.wg.Done()
	runtime.LockOSThread()
	fd, err := socketIn(ns)
	ready <- err
	if err != nil {
		return
	}
	defer unix.Close(fd)
	buf := make([]byte, 65536)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Errorf("%s: %w", ns, err))
			c.mu.Unlock()
			return
		}
		ifname := "?"
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			ifname = fmt.Sprintf("if%d", ll.Ifindex)
		}
		c.check(ns, ifname, buf[:n])
	}
}

// socketIn opens a raw packet socket inside namespace ns (on the calling,
// locked thread) with a short receive timeout so that Stop is noticed.
func socketIn(ns string) (int, error) {
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return -1, fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return -1, fmt.Errorf("enter namespace %s: %w", ns, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return -1, fmt.Errorf("packet socket in %s: %w", ns, err)
	}
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("packet socket timeout in %s: %w", ns, err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// check looks at one Ethernet frame.
func (c *Capture) check(ns, ifname string, frame []byte) {
	if len(frame) < 14 {
		return
	}
	var src, dst netip.Addr
	ip := frame[14:]
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case 0x0800:
		if len(ip) < 20 {
			return
		}
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	case 0x86dd:
		if len(ip) < 40 {
			return
		}
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
	default:
		return // ARP and other link-layer traffic carries no IP
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.packets++
	if c.ok(src) && c.ok(dst) {
		return
	}
	if len(c.bad) < maxViolations {
		c.bad = append(c.bad, fmt.Sprintf("%s %s: %s -> %s", ns, ifname, src, dst))
	}
}

func (c *Capture) ok(a netip.Addr) bool {
	if a.Is6() && (a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsUnspecified()) {
		return true
	}
	a = a.Unmap()
	return slices.ContainsFunc(c.allowed, func(p netip.Prefix) bool { return p.Contains(a) })
}

// Stop ends the capture (idempotent).
func (c *Capture) Stop() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.wg.Wait()
}

// Result stops the capture and returns how many IP packets it saw and those
// with an address outside the allowed ranges (at most 50).
func (c *Capture) Result() (packets int, outside []string, errs []error) {
	c.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.packets, slices.Clone(c.bad), slices.Clone(c.errs)
}

// Check stops the capture and fails tb if any packet had an address outside
// the allowed ranges, or if it saw no packet at all (then it proves
// nothing).
func (c *Capture) Check(tb testing.TB) {
	tb.Helper()
	n, outside, errs := c.Result()
	for _, err := range errs {
		tb.Errorf("capture: %v", err)
	}
	if len(outside) > 0 {
		tb.Errorf("%d packets had an address outside the simulated ranges:\n%s", len(outside), strings.Join(outside, "\n"))
	}
	if n == 0 {
		tb.Errorf("the capture saw no packet at all")
	}
	tb.Logf("capture: %d IP packets, all inside %v", n, c.allowed)
}

package p2p

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	ma "github.com/multiformats/go-multiaddr"
)

// The NAT tests run each peer as a child process (this test binary, test
// TestNATAgent) inside its network namespace: a host's TCP dials open new
// sockets on whatever thread runs them, so one process cannot hold hosts in
// several namespaces. The parent drives each agent over stdin/stdout, one
// JSON request and one JSON reply per line.

const (
	envAgent  = "COLLAB_P2P_AGENT" // set for agent children only
	sinkProto = protocol.ID("/collab-test/sink/1")
)

type agentReq struct {
	Op      string        `json:"op"`
	Key     string        `json:"key,omitempty"`     // start: base64 private key
	Listen  []string      `json:"listen,omitempty"`  // start
	Trusted []string      `json:"trusted,omitempty"` // start: peer IDs
	Relays  []string      `json:"relays,omitempty"`  // start: relay p2p addrs the user named
	Relay   bool          `json:"relay,omitempty"`   // start: run the relay service
	NAT     bool          `json:"nat,omitempty"`     // start: port mapping (--nat)
	Peer    string        `json:"peer,omitempty"`
	Addrs   []string      `json:"addrs,omitempty"`
	Size    int           `json:"size,omitempty"`
	Count   int           `json:"count,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

type agentReply struct {
	Err      string        `json:"err,omitempty"`
	Kind     int           `json:"kind,omitempty"` // DialError kind
	Raw      string        `json:"raw,omitempty"`  // DialError's libp2p text
	ID       string        `json:"id,omitempty"`
	Addrs    []string      `json:"addrs,omitempty"`
	Reach    string        `json:"reach,omitempty"`
	Path     string        `json:"path,omitempty"`
	Via      string        `json:"via,omitempty"`
	Relayed  bool          `json:"relayed,omitempty"` // the stream ran over a relayed connection
	Elapsed  time.Duration `json:"elapsed,omitempty"`
	RTTs     []int64       `json:"rtts,omitempty"` // ns
	Hash     string        `json:"hash,omitempty"`
	Relaying []string      `json:"relaying,omitempty"`
	PortMap  *PortMapping  `json:"portmap,omitempty"`
}

// TestNATAgent is one peer of the NAT tests; it runs only as their child.
func TestNATAgent(t *testing.T) {
	if os.Getenv(envAgent) == "" {
		t.Skip("runs only as a child of the NAT tests")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var h *Host
	defer func() {
		if h != nil {
			h.Close()
		}
	}()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req agentReq
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			t.Fatalf("agent: bad request %q: %v", in.Text(), err)
		}
		var rep agentReply
		var err error
		if req.Op == "start" {
			h, err = agentStart(req, log)
		} else if h == nil {
			err = errors.New("not started")
		} else if req.Op == "quit" {
			_ = out.Encode(rep)
			return
		} else {
			rep, err = agentDo(h, req)
		}
		if err != nil {
			rep.Err = err.Error()
			var de *DialError
			if errors.As(err, &de) {
				rep.Kind = int(de.Kind)
				rep.Raw = de.Raw()
			}
		}
		if h != nil && rep.ID == "" {
			rep.ID = h.ID().String()
		}
		if err := out.Encode(rep); err != nil {
			t.Fatalf("agent: reply: %v", err)
		}
	}
}

func agentStart(req agentReq, log *slog.Logger) (*Host, error) {
	kb, err := base64.StdEncoding.DecodeString(req.Key)
	if err != nil {
		return nil, err
	}
	key, err := crypto.UnmarshalPrivateKey(kb)
	if err != nil {
		return nil, err
	}
	trusted := map[peer.ID]bool{}
	for _, s := range req.Trusted {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, err
		}
		trusted[id] = true
	}
	var relays []peer.AddrInfo
	for _, s := range req.Relays {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, err
		}
		relays = append(relays, *ai)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := New(ctx, Config{
		Identity:     key,
		ListenAddrs:  req.Listen,
		Trusted:      func(p peer.ID) bool { return trusted[p] },
		Relays:       relays,
		RelayService: req.Relay,
		NATPortMap:   req.NAT,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	h.LibP2P().SetStreamHandler(echoProto, echoHandler)
	h.LibP2P().SetStreamHandler(sinkProto, sinkHandler)
	return h, nil
}

// sinkHandler reads everything and answers with its SHA-256.
func sinkHandler(s network.Stream) {
	defer s.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, s); err != nil {
		_ = s.Reset()
		return
	}
	_, _ = s.Write(sum.Sum(nil))
}

func agentDo(h *Host, req agentReq) (agentReply, error) {
	var rep agentReply
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var target peer.ID
	if req.Peer != "" {
		id, err := peer.Decode(req.Peer)
		if err != nil {
			return rep, err
		}
		target = id
	}
	switch req.Op {
	case "addrs":
		rep.Addrs = strs(h.Addrs())
		rep.Reach = h.Reachability().String()
		for _, u := range h.RelayingFor() {
			rep.Relaying = append(rep.Relaying, u.Peer.String())
		}
	case "portmap":
		pm := h.PortMapping()
		rep.PortMap = &pm
	case "wait-relayed":
		// Wait until the host holds a relay slot (circuit addresses).
		for {
			if c := h.relays.circuitAddrs(); len(c) > 0 {
				rep.Addrs = strs(h.Addrs())
				rep.Reach = h.Reachability().String()
				return rep, nil
			}
			select {
			case <-ctx.Done():
				return rep, fmt.Errorf("no relay slot within %v (reachability %s, relays %+v)", timeout, h.Reachability(), h.Relays())
			case <-h.AddrsChanged():
			case <-time.After(50 * time.Millisecond):
			}
		}
	case "wait-addr":
		// Wait until Addrs contains req.Addrs[0] as a substring.
		for !strings.Contains(strings.Join(strs(h.Addrs()), " "), req.Addrs[0]) {
			select {
			case <-ctx.Done():
				return rep, fmt.Errorf("no address containing %s within %v: %v", req.Addrs[0], timeout, h.Addrs())
			case <-time.After(50 * time.Millisecond):
			}
		}
		rep.Addrs = strs(h.Addrs())
	case "connect":
		var addrs []ma.Multiaddr
		for _, s := range req.Addrs {
			a, err := ma.NewMultiaddr(s)
			if err != nil {
				return rep, err
			}
			if id, err := peer.IDFromP2PAddr(a); err == nil && id == target {
				a, _ = ma.SplitLast(a)
			}
			addrs = append(addrs, a)
		}
		start := time.Now()
		if err := h.ConnectPeer(ctx, peer.AddrInfo{ID: target, Addrs: addrs}); err != nil {
			return rep, err
		}
		rep.Elapsed = time.Since(start)
		p := h.Path(target)
		rep.Path, rep.Via = p.Kind.String(), p.Via.String()
	case "disconnect":
		_ = h.LibP2P().Network().ClosePeer(target)
	case "drop-hop":
		// What a relay's shutdown tells its peers (identify push): it no
		// longer speaks the relay protocol.
		h.LibP2P().RemoveStreamHandler(proto.ProtoIDv2Hop)
	case "knows-hop":
		// Whether the peerstore says target speaks the relay protocol.
		protos, err := h.LibP2P().Peerstore().SupportsProtocols(target, proto.ProtoIDv2Hop)
		if err != nil {
			return rep, err
		}
		rep.Relayed = len(protos) > 0
	case "path":
		p := h.Path(target)
		rep.Path, rep.Via = p.Kind.String(), p.Via.String()
	case "wait-direct":
		start := time.Now()
		for {
			p := h.Path(target)
			if p.Kind == PathInternet || p.Kind == PathLAN {
				rep.Path, rep.Elapsed = p.Kind.String(), time.Since(start)
				return rep, nil
			}
			select {
			case <-ctx.Done():
				rep.Path = p.Kind.String()
				return rep, fmt.Errorf("still %s after %v", p.Kind, timeout)
			case <-time.After(5 * time.Millisecond):
			}
		}
	case "echo":
		s, err := h.LibP2P().NewStream(network.WithAllowLimitedConn(ctx, "test"), target, echoProto)
		if err != nil {
			return rep, err
		}
		defer s.Close()
		rep.Relayed = isRelayed(s.Conn().RemoteMultiaddr())
		_ = s.SetDeadline(time.Now().Add(timeout))
		msg := make([]byte, max(req.Size, 1))
		back := make([]byte, len(msg))
		for i := range max(req.Count, 1) {
			msg[0] = byte(i)
			t0 := time.Now()
			if _, err := s.Write(msg); err != nil {
				return rep, err
			}
			if _, err := io.ReadFull(s, back); err != nil {
				return rep, err
			}
			rep.RTTs = append(rep.RTTs, int64(time.Since(t0)))
		}
	case "bulk":
		s, err := h.LibP2P().NewStream(network.WithAllowLimitedConn(ctx, "test"), target, sinkProto)
		if err != nil {
			return rep, err
		}
		defer s.Close()
		rep.Relayed = isRelayed(s.Conn().RemoteMultiaddr())
		_ = s.SetDeadline(time.Now().Add(timeout))
		data := make([]byte, req.Size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		start := time.Now()
		if _, err := s.Write(data); err != nil {
			return rep, err
		}
		if err := s.CloseWrite(); err != nil {
			return rep, err
		}
		sum, err := io.ReadAll(s)
		if err != nil {
			return rep, err
		}
		rep.Elapsed = time.Since(start)
		want := sha256.Sum256(data)
		if hex.EncodeToString(sum) != hex.EncodeToString(want[:]) {
			return rep, fmt.Errorf("bulk: the sink got other bytes (%x, want %x)", sum, want)
		}
		rep.Hash = hex.EncodeToString(sum)
	default:
		return rep, fmt.Errorf("unknown op %q", req.Op)
	}
	return rep, nil
}

func strs(addrs []ma.Multiaddr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// agent is the parent's handle on one child.
type agent struct {
	t    testing.TB
	name string
	ns   string
	key  crypto.PrivKey
	id   peer.ID

	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	logf   *os.File
	cancel context.CancelFunc
	mu     sync.Mutex
}

func newAgentKey(t testing.TB) (crypto.PrivKey, peer.ID) {
	k := testKey(t)
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

// spawn starts an agent process inside namespace ns. Its log goes to
// dir/<name>.log, shown when the test fails.
func spawn(t testing.TB, name, ns, dir string, key crypto.PrivKey) *agent {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	a := &agent{t: t, name: name, ns: ns, key: key, id: id}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	a.cancel = cancel
	a.cmd = exec.CommandContext(ctx, "ip", "netns", "exec", ns, exe,
		"-test.run=^TestNATAgent$", "-test.count=1", "-test.timeout=10m")
	a.cmd.Env = append(os.Environ(), envAgent+"="+name)
	a.cmd.WaitDelay = 5 * time.Second
	if a.logf, err = os.Create(dir + "/" + name + ".log"); err != nil {
		t.Fatal(err)
	}
	a.cmd.Stderr = a.logf
	if a.in, err = a.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	a.out = bufio.NewScanner(stdout)
	a.out.Buffer(make([]byte, 1<<20), 4<<20)
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			b, _ := os.ReadFile(a.logf.Name())
			lines := strings.Split(string(b), "\n")
			if len(lines) > 150 {
				lines = lines[len(lines)-150:]
			}
			t.Logf("--- log of %s (%s), last lines:\n%s", a.name, a.id, strings.Join(lines, "\n"))
		}
	})
	return a
}

// stop ends the agent process (idempotent).
func (a *agent) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return
	}
	_ = a.in.Close() // EOF: the agent closes its host and exits
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		a.cancel()
		<-done
	}
	a.cancel()
	a.cmd = nil
	_ = a.logf.Close()
}

// do sends one request and returns the reply; a reply error fails the test
// unless allowErr.
func (a *agent) do(req agentReq, allowErr bool) agentReply {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		a.t.Fatalf("%s: agent not running", a.name)
	}
	b, _ := json.Marshal(req)
	if _, err := a.in.Write(append(b, '\n')); err != nil {
		a.t.Fatalf("%s: send %s: %v", a.name, req.Op, err)
	}
	if !a.out.Scan() {
		a.t.Fatalf("%s: no reply to %s (agent exited: %v)", a.name, req.Op, a.out.Err())
	}
	var rep agentReply
	if err := json.Unmarshal(a.out.Bytes(), &rep); err != nil {
		a.t.Fatalf("%s: bad reply %q: %v", a.name, a.out.Text(), err)
	}
	if rep.Err != "" && !allowErr {
		a.t.Fatalf("%s: %s: %s", a.name, req.Op, rep.Err)
	}
	return rep
}

func (a *agent) start(listen []string, trusted []peer.ID, relays []string, relayService bool) agentReply {
	a.t.Helper()
	kb, err := crypto.MarshalPrivateKey(a.key)
	if err != nil {
		a.t.Fatal(err)
	}
	var ts []string
	for _, id := range trusted {
		ts = append(ts, id.String())
	}
	return a.do(agentReq{Op: "start", Key: base64.StdEncoding.EncodeToString(kb), Listen: listen,
		Trusted: ts, Relays: relays, Relay: relayService}, false)
}

// percentile returns the p-th percentile (0–100) of ns durations.
func percentile(ns []int64, p float64) time.Duration {
	if len(ns) == 0 {
		return 0
	}
	s := slices.Clone(ns)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return time.Duration(s[i])
}

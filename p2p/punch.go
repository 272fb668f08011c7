package p2p

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	quicgo "github.com/quic-go/quic-go"
	"golang.org/x/sys/unix"
)

// PunchProtocol is collab's birthday hole punch, for the NAT pair DCUtR
// cannot open: one side keeps one external port per local port (a
// "port-preserving" NAT, the prober), the other picks a new random port for
// every destination (a symmetric NAT, the opener). DCUtR sends to the port
// the opener's NAT chose towards the relay, which is not the one it chooses
// towards the prober, so nothing gets through. Here the opener opens
// punchSockets UDP sockets, each sending to the prober's public QUIC
// address (its NAT gives each its own random port); the prober sends
// punchProbes probes from its QUIC socket to random ports of the opener's
// public IP. One probe landing on one of those ports (≈ 99.97% with these
// numbers) opens both NATs for that pair of ports; the opener then listens
// for QUIC on that socket's local port and the prober dials it there.
//
// The protocol runs over the relayed connection, only between
// collaborators, only while the relay is their only path; it sends nothing
// to anyone but the collaborator's own public address. Messages are JSON
// lines, each at most punchMsgMax bytes.
const PunchProtocol = protocol.ID("/collab/punch/1.0.0")

// The birthday numbers: with k mappings open on the opener's NAT and n
// probes spread over its 64,512 ports, a probe hits with probability
// 1-(1-k/64512)^n; k=256, n=2048 gives 99.97%. The probes are what the
// prober's own NAT must track (n entries for 30 s), so n stays small.
const (
	punchSockets  = 256
	punchProbes   = 2048
	punchProbeGap = 400 * time.Microsecond // 2,048 probes in ≈ 0.8 s
	punchLowPort  = 1024                   // NATs map into 1024–65535
	// punchHelloTTL lets the opener's hellos through its home router and
	// no further.
	punchHelloTTL = 2
	punchMsgMax   = 4096
	// punchAfter is how long a connection stays relayed-only before a
	// punch is tried: DCUtR goes first. Where both NATs keep ports (DCUtR
	// measured up to 306 ms) the punch declines anyway; where one side
	// forwards its port, DCUtR took 17 ms.
	punchAfter = 250 * time.Millisecond
	// punchPoll is how often relayed-only collaborators are looked at
	// while one waits for its turn; punchIdleCheck when none does.
	punchPoll      = 100 * time.Millisecond
	punchIdleCheck = 5 * time.Second
	// punchHitWait is how long the opener waits for a probe after Ready:
	// the probes take punchProbes × punchProbeGap to send.
	punchHitWait = 2500 * time.Millisecond
	// punchAttempt bounds one attempt, from offer to dial.
	punchAttempt = 8 * time.Second
	// punchRetry is how long a collaborator that could not be punched
	// after punchQuickRetries tries is left alone.
	punchRetry        = 10 * time.Minute
	punchQuickRetries = 3
)

// punchMagic starts every probe and hello. Its first byte has the QUIC
// "fixed bit" clear, so a QUIC stack that receives one drops it rather
// than answering.
var punchMagic = []byte("\x00collab-punch")

// punchMsg is one message of the protocol. Offer and Answer carry the
// sender's public QUIC addresses as collaborators observed them; Ready
// carries the opener's probe token; Hit the address the prober should dial.
type punchMsg struct {
	Role string `json:",omitempty"` // in the offer: the initiator's, "prober" or "opener"
	// Keeps, in the offer and the answer: the sender's NAT seems to keep
	// one external port per local port (see portPreserved).
	Keeps bool     `json:",omitempty"`
	QUIC  []string `json:",omitempty"`
	Ready []byte   `json:",omitempty"`
	Hit   string   `json:",omitempty"`
	Fail  string   `json:",omitempty"`
}

// puncher holds what punching needs from the host: the QUIC connection
// manager (to send probes from the QUIC socket) and the extra QUIC
// listeners openers made, closed once no connection uses them.
type puncher struct {
	cm atomic.Pointer[quicreuse.ConnManager]
	// responding is set while this host answers an attempt: one at a time.
	responding atomic.Bool

	mu    sync.Mutex
	ports map[int]punchListener // by local UDP port: the listeners punches made
	// answered holds when each peer's last attempts were answered, for
	// allow.
	answered map[peer.ID][]time.Time
}

// punchListener is a QUIC listener an opener made for one punch.
type punchListener struct {
	addr  ma.Multiaddr
	since time.Time // a listener is not closed before its dial had time to arrive
}

// punchAnswersPerMinute bounds the attempts a peer may ask of us.
const punchAnswersPerMinute = 8

// allow reports whether p may start another attempt now (at most
// punchAnswersPerMinute a minute), and counts it.
func (pu *puncher) allow(p peer.ID, now time.Time) bool {
	pu.mu.Lock()
	defer pu.mu.Unlock()
	if pu.answered == nil {
		pu.answered = map[peer.ID][]time.Time{}
	}
	for q, ts := range pu.answered {
		pu.answered[q] = slices.DeleteFunc(ts, func(t time.Time) bool { return now.Sub(t) > time.Minute })
		if len(pu.answered[q]) == 0 {
			delete(pu.answered, q)
		}
	}
	if len(pu.answered[p]) >= punchAnswersPerMinute {
		return false
	}
	pu.answered[p] = append(pu.answered[p], now)
	return true
}

// isPunchPort reports whether a is on a listener a punch opened: such an
// address is for the one collaborator it was opened for, never advertised.
func (p *puncher) isPunchPort(a ma.Multiaddr) bool {
	port, ok := udpPort(a)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok = p.ports[port]
	return ok
}

// runPunch is the owner of punch attempts this host initiates (one at a
// time) and of the listeners punches opened. A host initiates towards the
// trusted peers whose ID sorts after its own, so that two peers do not
// start at once; punchPeer picks the roles.
func (h *Host) runPunch(sub event.Subscription) {
	defer h.wg.Done()
	defer sub.Close()
	// Checked often only while a relayed-only collaborator waits for its
	// turn; otherwise on a connection change, or every punchIdleCheck (an
	// idle `collab serve` should not wake ten times a second).
	wake := time.NewTimer(punchIdleCheck)
	defer wake.Stop()
	type record struct {
		next  time.Time // no attempt before
		fails int
	}
	tried := map[peer.ID]record{}
	for {
		select {
		case <-h.ctx.Done():
			return
		case _, ok := <-sub.Out():
			if !ok {
				return
			}
			wake.Reset(punchPoll)
			continue
		case <-wake.C:
		}
		now := time.Now()
		h.closeIdlePunchListeners()
		for p, r := range tried {
			if now.After(r.next.Add(punchRetry)) {
				delete(tried, p)
			}
		}
		waiting := false
		for _, p := range h.h.Network().Peers() {
			path := h.Path(p)
			if path.Kind != PathRelayed || !h.trusted(p) || h.h.ID() > p {
				continue
			}
			r := tried[p]
			if now.Before(r.next) || now.Sub(path.Since) < punchAfter {
				waiting = waiting || r.next.Sub(now) < punchIdleCheck
				continue
			}
			hopeful := h.punchPeer(p)
			if h.ctx.Err() != nil {
				return
			}
			if h.Path(p).Kind != PathRelayed {
				// Punched: should the direct path go, punch again.
				delete(tried, p)
				continue
			}
			// A couple of quick retries (a try can fail while the NATs
			// still hold state from DCUtR's), then rarely.
			r.fails++
			r.next = time.Now().Add(punchRetry)
			if hopeful && r.fails < punchQuickRetries {
				r.next = time.Now().Add(time.Duration(r.fails) * 2 * time.Second)
				waiting = true
			}
			tried[p] = r
		}
		if waiting {
			wake.Reset(punchPoll)
		} else {
			wake.Reset(punchIdleCheck)
		}
	}
}

// punchPeer tries to open a direct connection to p: as the prober if our
// NAT seems to keep ports, else as the opener. If exactly one NAT seems to,
// a failed try is repeated once in the same roles; if neither does (a NAT
// can map one local port to one other external port for every
// destination, which one observer cannot tell from a symmetric NAT), the
// second try swaps them. It reports whether exactly one NAT seemed to keep
// ports: a failure is then worth retrying soon.
func (h *Host) punchPeer(p peer.ID) (hopeful bool) {
	keeps := h.portPreserved()
	roles := []string{"prober", "opener"}
	if !keeps {
		slices.Reverse(roles)
	}
	for i := 0; i < len(roles); i++ {
		role := roles[i]
		theirs, err := h.punchAs(p, role, keeps)
		for try := 0; errors.Is(err, errPunchBusy) && try < 5; try++ {
			// The peer is finishing the previous attempt.
			select {
			case <-h.ctx.Done():
				return false
			case <-time.After(200 * time.Millisecond):
			}
			theirs, err = h.punchAs(p, role, keeps)
		}
		if h.Path(p).Kind != PathRelayed {
			h.log.Info("hole punched: direct connection", "peer", p, "role", role, "path", h.Path(p).Kind.String())
			return true
		}
		h.log.Debug("hole punch failed", "peer", p, "role", role, "err", err)
		hopeful = keeps != theirs
		if h.ctx.Err() != nil || errors.Is(err, errPunchNotNeeded) {
			return hopeful
		}
		if i == 0 && keeps != theirs {
			// The roles were right: one more try in them (a dial can
			// still fail while DCUtR's own attempt is under way).
			roles[1] = role
		} else if i == 0 && keeps {
			return hopeful
		}
	}
	return hopeful
}

// punchAs runs one attempt towards p with this host in role.
// It returns whether the peer's NAT seems to keep ports.
func (h *Host) punchAs(p peer.ID, role string, keeps bool) (theirs bool, _ error) {
	ctx, cancel := context.WithTimeout(h.ctx, punchAttempt)
	defer cancel()
	s, err := h.h.NewStream(network.WithAllowLimitedConn(ctx, "hole punch"), p, PunchProtocol)
	if err != nil {
		return false, fmt.Errorf("open punch stream: %w", err)
	}
	defer s.Close()
	defer resetOnTimeout(ctx, s)()
	ps := newPunchStream(s)
	if err := ps.write(punchMsg{Role: role, Keeps: keeps, QUIC: h.publicQUIC()}); err != nil {
		return false, err
	}
	answer, err := ps.read()
	if err != nil {
		return false, err
	}
	switch answer.Fail {
	case "":
	case "busy":
		return false, errPunchBusy
	case "not needed":
		return answer.Keeps, errPunchNotNeeded
	default:
		return answer.Keeps, fmt.Errorf("peer declined: %s", answer.Fail)
	}
	if role == "prober" {
		return answer.Keeps, h.probe(ctx, ps, p, answer.QUIC)
	}
	return answer.Keeps, h.open(ctx, ps, answer.QUIC)
}

// handlePunch answers an attempt a collaborator started.
func (h *Host) handlePunch(s network.Stream) {
	defer s.Close()
	p := s.Conn().RemotePeer()
	ps := newPunchStream(s)
	if !h.trusted(p) {
		s.Reset()
		return
	}
	// Deferred in this order, the busy flag is cleared before the stream
	// closes: the peer never sees this attempt end while its next one
	// would still be answered "busy".
	ctx, cancel := context.WithTimeout(h.ctx, punchAttempt)
	defer cancel()
	if !h.punching.responding.CompareAndSwap(false, true) {
		ps.write(punchMsg{Fail: "busy"})
		return
	}
	defer h.punching.responding.Store(false)
	// A collaborator can make us send probes to the address it names:
	// only while it is reachable through a relay alone, and a few
	// attempts a minute.
	if h.Path(p).Kind != PathRelayed {
		ps.write(punchMsg{Fail: "not relayed"})
		return
	}
	if !h.punching.allow(p, time.Now()) {
		ps.write(punchMsg{Fail: "too many attempts"})
		return
	}
	defer resetOnTimeout(ctx, s)()
	offer, err := ps.read()
	if err != nil {
		return
	}
	keeps := h.portPreserved()
	if offer.Keeps && keeps {
		// Both NATs keep ports: DCUtR's case.
		ps.write(punchMsg{Keeps: keeps, Fail: "not needed"})
		return
	}
	if err := ps.write(punchMsg{Keeps: keeps, QUIC: h.publicQUIC()}); err != nil {
		return
	}
	switch offer.Role {
	case "prober":
		err = h.open(ctx, ps, offer.QUIC)
	case "opener":
		err = h.probe(ctx, ps, p, offer.QUIC)
	default:
		err = errors.New("unknown role")
	}
	if err != nil {
		h.log.Debug("hole punch failed", "peer", p, "err", err)
	}
}

// open is the opener's side: open the sockets, send from each to the
// prober, say Ready with the token, and wait for a probe. On a hit, listen
// for QUIC on that socket's port and tell the prober where to dial.
func (h *Host) open(ctx context.Context, ps *punchStream, proberQUIC []string) error {
	target, ok := firstUDP4(proberQUIC)
	if !ok {
		ps.write(punchMsg{Fail: "no public QUIC address of yours"})
		return errors.New("the prober has no public QUIC address")
	}
	ourIP, ok := firstIP4(h.publicQUIC())
	if !ok {
		ps.write(punchMsg{Fail: "no public address of mine"})
		return errors.New("no public address observed for this host")
	}
	token := make([]byte, 16)
	rand.Read(token)
	hello := append(slices.Clone(punchMagic), token...)
	socks := make([]*net.UDPConn, 0, punchSockets)
	var readers sync.WaitGroup
	defer func() {
		for _, c := range socks {
			c.Close()
		}
		readers.Wait()
	}()
	for range punchSockets {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			break // out of descriptors: try with what we have
		}
		socks = append(socks, c)
		// The hello need only cross our own NAT (which then maps the
		// socket); reaching the prober's, it would make that NAT track
		// the pair as an inbound flow, and the prober's probe to it would
		// leave from another port.
		setTTL(c, punchHelloTTL)
		c.WriteToUDP(hello, target)
	}
	if len(socks) == 0 {
		ps.write(punchMsg{Fail: "no sockets"})
		return errors.New("could not open any UDP socket")
	}
	type hit struct {
		local, external int
	}
	hits := make(chan hit, 1)
	deadline, _ := ctx.Deadline()
	for _, c := range socks {
		c.SetReadDeadline(deadline)
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 64)
			for {
				n, from, err := c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				// A probe: magic, our token, the external port it was sent to,
				// from the prober's address.
				b := buf[:n]
				if n != len(punchMagic)+len(token)+2 || !from.IP.Equal(target.IP) ||
					string(b[:len(punchMagic)]) != string(punchMagic) || string(b[len(punchMagic):n-2]) != string(token) {
					continue
				}
				select {
				case hits <- hit{local: c.LocalAddr().(*net.UDPAddr).Port, external: int(binary.BigEndian.Uint16(b[n-2:]))}:
				default:
				}
				return
			}
		}()
	}
	if err := ps.write(punchMsg{Ready: token}); err != nil {
		return err
	}
	var got hit
	select {
	case got = <-hits:
	case <-time.After(punchHitWait):
		ps.write(punchMsg{Fail: "no probe arrived"})
		return errors.New("no probe arrived")
	case <-ctx.Done():
		return errors.New("no probe arrived")
	}
	for _, c := range socks {
		c.Close()
	}
	readers.Wait()
	// The NATs now pass packets between that socket's port and the
	// prober's: listen there (the socket is closed, its mappings stay).
	listen, err := ma.NewMultiaddr(fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", got.local))
	if err != nil {
		return err
	}
	h.punching.mu.Lock()
	if h.punching.ports == nil {
		h.punching.ports = map[int]punchListener{}
	}
	h.punching.ports[got.local] = punchListener{addr: listen, since: time.Now()}
	h.punching.mu.Unlock()
	if err := h.h.Network().Listen(listen); err != nil {
		h.forgetPunchPort(got.local)
		ps.write(punchMsg{Fail: "cannot listen"})
		return fmt.Errorf("listen on the punched port: %w", err)
	}
	dial := fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", ourIP, got.external)
	if err := ps.write(punchMsg{Hit: dial}); err != nil {
		return err
	}
	// The prober dials; wait for its word (or the stream's end).
	ps.read()
	return nil
}

// probe is the prober's side: wait for Ready, send probes from the QUIC
// socket to random ports of the opener's public IP until it reports a hit,
// then dial the address it names.
func (h *Host) probe(ctx context.Context, ps *punchStream, p peer.ID, openerQUIC []string) error {
	ip, ok := firstIP4(openerQUIC)
	if !ok {
		return errors.New("the opener has no public address")
	}
	ready, err := ps.read()
	if err != nil {
		return err
	}
	if len(ready.Ready) != 16 {
		return fmt.Errorf("opener not ready: %s", ready.Fail)
	}
	cm := h.punching.cm.Load()
	if cm == nil {
		return errors.New("no QUIC transport")
	}
	tr, err := cm.TransportForDial("udp4", &net.UDPAddr{IP: ip, Port: punchLowPort})
	if err != nil {
		return fmt.Errorf("QUIC socket: %w", err)
	}
	defer tr.DecreaseCount()
	// The opener's answer (hit or fail) arrives while probes go out.
	answer := make(chan punchMsg, 1)
	go func() {
		m, err := ps.read()
		if err != nil {
			m.Fail = err.Error()
		}
		answer <- m
	}()
	probe := append(slices.Clone(punchMagic), ready.Ready...)
	probe = append(probe, 0, 0)
	ports := mrand.Perm(65536 - punchLowPort)
	sent := 0
	var got punchMsg
	tick := time.NewTicker(punchProbeGap)
	defer tick.Stop()
	next := tick.C // nil once every probe is out
wait:
	for {
		select {
		case got = <-answer:
			break wait
		case <-ctx.Done():
			return errors.New("no answer from the opener")
		case <-next:
			port := punchLowPort + ports[sent]
			sent++
			binary.BigEndian.PutUint16(probe[len(probe)-2:], uint16(port))
			tr.WriteTo(probe, &net.UDPAddr{IP: ip, Port: port})
			if sent == punchProbes {
				next = nil
			}
		}
	}
	if got.Hit == "" {
		return fmt.Errorf("no probe hit (%d sent): %s", sent, got.Fail)
	}
	addr, err := ma.NewMultiaddr(got.Hit)
	if err != nil || !manet.IsPublicAddr(addr) {
		return fmt.Errorf("bad address from the opener: %q", got.Hit)
	}
	if hip, err := manet.ToIP(addr); err != nil || !hip.Equal(ip) {
		return fmt.Errorf("the opener named another address: %q", got.Hit)
	}
	h.h.Peerstore().AddAddr(p, addr, time.Minute)
	_, err = h.h.Network().DialPeer(network.WithForceDirectDial(ctx, "hole punch"), p)
	ps.write(punchMsg{})
	if err != nil {
		return fmt.Errorf("dial the punched address: %w", err)
	}
	return nil
}

var (
	errPunchBusy      = errors.New("the peer is busy with another hole punch")
	errPunchNotNeeded = errors.New("both NATs keep ports: DCUtR's case")
)

// portPreserved reports whether a collaborator saw one of our QUIC
// sockets at its own port number: our NAT then likely keeps one external
// port per local port, the prober's part.
func (h *Host) portPreserved() bool {
	var local []int
	for _, a := range h.h.Network().ListenAddresses() {
		if port, ok := quicPort(a); ok {
			local = append(local, port)
		}
	}
	for _, a := range h.reach.observedAddrs() {
		if port, ok := quicPort(a); ok && slices.Contains(local, port) {
			return true
		}
	}
	return false
}

// udpPort is a's UDP port, if it has one.
func udpPort(a ma.Multiaddr) (int, bool) {
	s, err := a.ValueForProtocol(ma.P_UDP)
	if err != nil {
		return 0, false
	}
	port, err := strconv.Atoi(s)
	return port, err == nil && port > 0 && port < 65536
}

// quicPort is a's UDP port, if a is a QUIC address.
func quicPort(a ma.Multiaddr) (int, bool) {
	if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err != nil {
		return 0, false
	}
	return udpPort(a)
}

// publicQUIC is this host's public IPv4 QUIC addresses as collaborators
// observed them.
func (h *Host) publicQUIC() []string {
	var out []string
	for _, a := range h.reach.observedAddrs() {
		if _, ok := quicPort(a); ok {
			out = append(out, a.String())
		}
	}
	return out
}

// closeIdlePunchListeners closes the listeners punches opened that no
// connection uses any more, once their prober had time to dial.
func (h *Host) closeIdlePunchListeners() {
	h.punching.mu.Lock()
	idle := map[int]ma.Multiaddr{}
	for port, l := range h.punching.ports {
		if time.Since(l.since) > punchAttempt {
			idle[port] = l.addr
		}
	}
	h.punching.mu.Unlock()
	if len(idle) == 0 {
		return
	}
	for _, c := range h.h.Network().Conns() {
		if port, ok := udpPort(c.LocalMultiaddr()); ok {
			delete(idle, port)
		}
	}
	closer, ok := h.h.Network().(interface{ ListenClose(...ma.Multiaddr) })
	for port, a := range idle {
		if ok {
			closer.ListenClose(a)
		}
		h.forgetPunchPort(port)
	}
}

func (h *Host) forgetPunchPort(port int) {
	h.punching.mu.Lock()
	delete(h.punching.ports, port)
	h.punching.mu.Unlock()
}

func firstUDP4(addrs []string) (*net.UDPAddr, bool) {
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil || !manet.IsPublicAddr(a) {
			continue
		}
		port, ok := quicPort(a)
		if !ok {
			continue
		}
		if ip, err := manet.ToIP(a); err == nil && ip.To4() != nil {
			return &net.UDPAddr{IP: ip, Port: port}, true
		}
	}
	return nil, false
}

func firstIP4(addrs []string) (net.IP, bool) {
	u, ok := firstUDP4(addrs)
	if !ok {
		return nil, false
	}
	return u.IP, true
}

// punchStream reads and writes the protocol's JSON lines, each bounded.
type punchStream struct {
	s network.Stream
	r *bufio.Reader
}

func newPunchStream(s network.Stream) *punchStream {
	return &punchStream{s: s, r: bufio.NewReaderSize(io.LimitReader(s, 16*punchMsgMax), punchMsgMax)}
}

func (ps *punchStream) write(m punchMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := ps.s.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write punch message: %w", err)
	}
	return nil
}

func (ps *punchStream) read() (punchMsg, error) {
	line, err := ps.r.ReadSlice('\n')
	if err != nil {
		return punchMsg{}, fmt.Errorf("read punch message: %w", err)
	}
	var m punchMsg
	if err := json.Unmarshal(line, &m); err != nil {
		return punchMsg{}, fmt.Errorf("bad punch message: %w", err)
	}
	return m, nil
}

// resetOnTimeout resets s if ctx ends (the attempt timed out), so that a
// read blocked on it returns. Call the returned function when the attempt
// ends normally: the stream is then closed, not reset, and the peer reads
// the last message.
func resetOnTimeout(ctx context.Context, s network.Stream) (stop func() bool) {
	return context.AfterFunc(ctx, func() { s.Reset() })
}

// newQUICConnManager makes the QUIC socket manager with the resource
// manager's admission of inbound connections, as libp2p's default does.
func newQUICConnManager(key quicgo.StatelessResetKey, tokenKey quicgo.TokenGeneratorKey, rm network.ResourceManager) (*quicreuse.ConnManager, error) {
	admit := quicreuse.ConnContext(func(ctx context.Context, info *quicgo.ClientInfo) (context.Context, error) {
		remote, err := quicreuse.ToQuicMultiaddr(info.RemoteAddr, quicgo.Version1)
		if err != nil {
			remote = nil // the resource manager decides without it
		}
		scope, err := rm.OpenConnection(network.DirInbound, false, remote)
		if err != nil {
			return ctx, err
		}
		context.AfterFunc(ctx, scope.Done)
		return network.WithConnManagementScope(ctx, scope), nil
	})
	verify := quicreuse.VerifySourceAddress(rm.VerifySourceAddress)
	return quicreuse.NewConnManager(key, tokenKey, admit, verify)
}

// setTTL sets the IP time-to-live of packets c sends.
func setTTL(c *net.UDPConn, ttl int) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, ttl)
	})
}

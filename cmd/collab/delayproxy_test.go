package main

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// delayProxy forwards TCP connections on loopback to a peer's address,
// holding back each chunk of bytes for a random time (order kept, as on a
// slow network): the delivery delays of the randomised co-editing test.
type delayProxy struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	r    *rand.Rand
	max  time.Duration
	open map[net.Conn]bool
}

// newDelayProxy listens on loopback and forwards to target (a TCP
// multiaddr) until the test ends. It returns the address to dial instead.
func newDelayProxy(t *testing.T, target ma.Multiaddr, seed uint64, maxDelay time.Duration) ma.Multiaddr {
	t.Helper()
	to, err := manet.ToNetAddr(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{ln: ln, r: rand.New(rand.NewPCG(seed, 3)), max: maxDelay, open: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept(to.String())
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	addr, err := manet.FromNetAddr(ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open == nil {
		return false
	}
	p.open[c] = true
	return true
}

func (p *delayProxy) accept(to string) {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return // closed at the end of the test
		}
		out, err := net.Dial("tcp", to)
		if err != nil {
			in.Close()
			continue
		}
		p.track(in)
		p.track(out)
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *delayProxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(p.r.Int64N(int64(p.max) + 1))
}

// pipe copies from to to, each chunk no sooner than its random delay
// after it was read and never before the chunk ahead of it.
func (p *delayProxy) pipe(from, to net.Conn) {
	defer p.wg.Done()
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			time.Sleep(time.Until(c.at))
			if _, err := to.Write(c.b); err != nil {
				break
			}
		}
		to.Close()
		from.Close()
		for range q { // let the reader finish
		}
	}()
	var last time.Time
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			at := time.Now().Add(p.delay())
			if at.Before(last) {
				at = last
			}
			last = at
			q <- chunk{b: append([]byte(nil), buf[:n]...), at: at}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				from.Close()
			}
			break
		}
	}
	close(q)
	<-done
}

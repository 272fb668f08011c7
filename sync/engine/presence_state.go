package engine

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

type remotePresence struct {
	peer, name, color string
	hasCursor         bool
	cursor, anchor    int // as resolved against resolvedAt (or as sent)
	heads             string
	before, after     string
	resolvedAt        string // heads key the positions are valid at; "" = as sent
	seen              time.Time
	via               *conn
}

type presenceState struct {
	mu sync.Mutex
	// Local presence.
	local          bool
	cursor, anchor int
	// The text around the cursor, when the caller supplied it
	// (SetCursorContext); otherwise read from the note.
	hasContext    bool
	before, after string
	payload       []byte // encoded state, reused by heartbeats
	// localGen counts changes to the local state: an encoding of an older
	// state that finishes after a change is sent once but not kept for
	// reuse (a heartbeat would repeat the old cursor for good).
	localGen uint64
	dirty    bool
	lastSent time.Time
	// Remote presences by originator.
	remote map[string]*remotePresence
	counts map[string]uint64 // highest count per sender+session
	rates  map[string]*rate.Limiter
}

func (p *presenceState) init() {
	p.remote = map[string]*remotePresence{}
	p.counts = map[string]uint64{}
	p.rates = map[string]*rate.Limiter{}
}

func (p *presenceState) hasLocal() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.local
}

// dropVia forgets presences last heard through c; reports whether any.
func (p *presenceState) dropVia(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	any := false
	for k, r := range p.remote {
		if r.via == c {
			delete(p.remote, k)
			any = true
		}
	}
	return any
}

// fresh de-duplicates by (sender, session, count): only counts above the
// highest seen pass.
func (p *presenceState) fresh(sender, session string, count uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := sender + "\x00" + session
	if last, ok := p.counts[k]; ok && count <= last {
		return false
	}
	if len(p.counts) > 4096 {
		clear(p.counts)
	}
	p.counts[k] = count
	return true
}

// allow rate-limits presence per sender (ephemeralRelayRate a second).
func (p *presenceState) allow(sender string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.rates[sender]
	if l == nil {
		if len(p.rates) > 4096 {
			clear(p.rates)
		}
		l = rate.NewLimiter(ephemeralRelayRate, ephemeralRelayRate)
		p.rates[sender] = l
	}
	return l.Allow()
}

// apply merges a presence payload from sender; reports whether what we
// show changed.
func (p *presenceState) apply(sender string, data []byte, via *conn) bool {
	typ, state, channel, value, ok := decodePresence(data)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.remote[sender]
	if typ == "goodbye" {
		if r != nil {
			delete(p.remote, sender)
			return true
		}
		return false
	}
	isNew := r == nil
	if isNew {
		if len(p.remote) >= 256 || (sender != via.peerKey && p.relayedVia(via) >= maxRelayedPresences) {
			return false
		}
		r = &remotePresence{peer: sender}
		p.remote[sender] = r
	}
	r.seen, r.via = time.Now(), via
	switch typ {
	case "snapshot":
		*r = remotePresence{peer: sender, seen: r.seen, via: via, anchor: -1}
		for k, v := range state {
			r.set(k, v)
		}
		if r.anchor < 0 {
			r.anchor = r.cursor
		}
		return true
	case "update":
		r.set(channel, value)
		return true
	}
	return isNew
}

// relayedVia counts the presences c relays for others.
func (p *presenceState) relayedVia(c *conn) int {
	n := 0
	for _, r := range p.remote {
		if r.via == c && r.peer != c.peerKey {
			n++
		}
	}
	return n
}

func (r *remotePresence) set(key string, v any) {
	switch key {
	case "name":
		if s, ok := v.(string); ok {
			if rs := []rune(s); len(rs) > 64 {
				s = string(rs[:64])
			}
			r.name = s
		}
	case "color":
		if s, ok := v.(string); ok && len(s) <= 16 {
			r.color = s
		}
	case "cursor":
		if n, ok := toInt(v); ok {
			r.cursor, r.hasCursor, r.resolvedAt = n, true, ""
		}
	case "anchor":
		if n, ok := toInt(v); ok {
			r.anchor = n
		}
	case "heads":
		if hs, ok := v.([]any); ok {
			ss := make([]string, 0, len(hs))
			for _, h := range hs {
				if s, ok := h.(string); ok {
					ss = append(ss, s)
				}
			}
			r.heads = headsKeyStrings(ss)
		}
	case "before":
		if s, ok := v.(string); ok {
			r.before = lastRunes(s, contextRunes)
		}
	case "after":
		if s, ok := v.(string); ok {
			r.after = firstRunes(s, contextRunes)
		}
	}
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case uint64:
		if n <= math.MaxInt32 {
			return int(n), true
		}
	case int64:
		if n >= 0 && n <= math.MaxInt32 {
			return int(n), true
		}
	case float64:
		if n >= 0 && n <= math.MaxInt32 && n == math.Trunc(n) {
			return int(n), true
		}
	}
	return 0, false
}

package engine

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// Presence is what a remote peer shows of itself in a note.
type Presence struct {
	Peer      string // the originator's senderId (a collab peer's libp2p ID)
	Name      string
	Color     string
	HasCursor bool
	Cursor    int // runes into the note's text, placed on our copy
	Anchor    int // other end of the selection; = Cursor when none
	Seen      time.Time
}

// contextRunes is how much text around a cursor travels with it.
const contextRunes = 16

// searchRadius bounds the search for a cursor's context around its old place.
const searchRadius = 512

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
	dirty         bool
	lastSent      time.Time
	// Remote presences by originator.
	remote map[string]*remotePresence
	counts map[string]uint64 // highest count per sender+session
	rates  map[string]*bucket
	text   struct {
		key   string
		runes []rune
	}
}

type bucket struct {
	tokens float64
	last   time.Time
}

func (p *presenceState) init() {
	p.remote = map[string]*remotePresence{}
	p.counts = map[string]uint64{}
	p.rates = map[string]*bucket{}
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
	now := time.Now()
	b := p.rates[sender]
	if b == nil {
		if len(p.rates) > 4096 {
			clear(p.rates)
		}
		b = &bucket{tokens: ephemeralRelayRate, last: now}
		p.rates[sender] = b
	}
	b.tokens = min(ephemeralRelayRate, b.tokens+now.Sub(b.last).Seconds()*ephemeralRelayRate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Wire form of presence, automerge-repo's Presence envelope.
type presenceEnvelope struct {
	P presenceWire `cbor:"__presence"`
}

type presenceWire struct {
	Type     string     `cbor:"type"`
	UserID   string     `cbor:"userId,omitempty"`
	DeviceID string     `cbor:"deviceId,omitempty"`
	State    *stateWire `cbor:"state,omitempty"`
}

type stateWire struct {
	Name   string   `cbor:"name,omitempty"`
	Color  string   `cbor:"color,omitempty"`
	Cursor *uint64  `cbor:"cursor,omitempty"`
	Anchor *uint64  `cbor:"anchor,omitempty"`
	Heads  []string `cbor:"heads,omitempty"`
	Before string   `cbor:"before,omitempty"`
	After  string   `cbor:"after,omitempty"`
}

var (
	presenceDec  cbor.DecMode
	presenceEnc  cbor.EncMode
	mapStringAny = reflect.TypeOf(map[string]any(nil))
)

func init() {
	var err error
	presenceDec, err = cbor.DecOptions{
		MaxNestedLevels:  8,
		MaxArrayElements: 256,
		MaxMapPairs:      64,
		DefaultMapType:   mapStringAny,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("engine: presence decode options: %v", err))
	}
	// Nil slices go out as empty arrays, never as null, which JavaScript
	// code would trip over.
	presenceEnc, err = cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("engine: presence encode options: %v", err))
	}
}

// SetCursor sets this user's caret and selection anchor (runes into the
// note's text) in note id; peers hear of it within 100 ms.
func (e *Engine) SetCursor(id crdt.DocumentID, cursor, anchor int) {
	e.setCursor(id, cursor, anchor, false, "", "")
}

// SetCursorContext is SetCursor for a caller that holds the text (an
// editor): before and after are up to 16 runes on each side of the cursor.
// It spares the engine reading the whole note, which on a large note
// would hold the note's lock for milliseconds while the user types.
func (e *Engine) SetCursorContext(id crdt.DocumentID, cursor, anchor int, before, after string) {
	e.setCursor(id, cursor, anchor, true, lastRunes(before, contextRunes), firstRunes(after, contextRunes))
}

func (e *Engine) setCursor(id crdt.DocumentID, cursor, anchor int, hasContext bool, before, after string) {
	e.mu.Lock()
	ns := e.notes[id]
	e.mu.Unlock()
	if ns == nil {
		return
	}
	ns.pres.mu.Lock()
	ns.pres.local = true
	ns.pres.cursor, ns.pres.anchor = max(cursor, 0), max(anchor, 0)
	ns.pres.hasContext, ns.pres.before, ns.pres.after = hasContext, before, after
	ns.pres.payload = nil
	ns.pres.dirty = true
	ns.pres.mu.Unlock()
	select {
	case e.wakePres <- struct{}{}:
	default:
	}
}

// localPayload encodes this user's presence state in ns, with the heads and
// the text around the cursor that let receivers place it after concurrent
// edits.
func (e *Engine) localPayload(ns *noteState) []byte {
	ns.pres.mu.Lock()
	if ns.pres.payload != nil {
		p := ns.pres.payload
		ns.pres.mu.Unlock()
		return p
	}
	local, cursor, anchor := ns.pres.local, ns.pres.cursor, ns.pres.anchor
	hasContext, before, after := ns.pres.hasContext, ns.pres.before, ns.pres.after
	ns.pres.mu.Unlock()
	st := &stateWire{Name: e.name, Color: e.color}
	if local {
		doc := ns.note.Doc()
		heads, ok := doc.CommittedHeads()
		var err error
		if hasContext {
			st.Before, st.After = before, after
		} else {
			var text string
			if text, err = doc.Text(); err == nil {
				r := []rune(text)
				cursor, anchor = min(cursor, len(r)), min(anchor, len(r))
				st.Before = string(r[max(0, cursor-contextRunes):cursor])
				st.After = string(r[cursor:min(len(r), cursor+contextRunes)])
			}
		}
		c, a := uint64(cursor), uint64(anchor)
		st.Cursor, st.Anchor = &c, &a
		if ok && err == nil {
			for _, h := range heads {
				st.Heads = append(st.Heads, h.String())
			}
		}
	}
	b, err := presenceEnc.Marshal(presenceEnvelope{P: presenceWire{Type: "snapshot", UserID: e.self, DeviceID: e.session, State: st}})
	if err != nil {
		e.log.Error("cannot encode presence", "err", err)
		return nil
	}
	ns.pres.mu.Lock()
	ns.pres.payload = b
	ns.pres.mu.Unlock()
	return b
}

// sendPresence originates one ephemeral message of type typ ("snapshot",
// "goodbye") to dps.
func (e *Engine) sendPresence(ns *noteState, dps []*docPeer, typ string) {
	if len(dps) == 0 {
		return
	}
	var data []byte
	if typ == "snapshot" {
		data = e.localPayload(ns)
	} else {
		data, _ = presenceEnc.Marshal(presenceEnvelope{P: presenceWire{Type: typ, UserID: e.self, DeviceID: e.session}})
	}
	if data == nil {
		return
	}
	count := e.count.Add(1)
	for _, dp := range dps {
		dp.c.send(&wire.Ephemeral{SenderID: e.self, TargetID: dp.c.remoteSender, DocumentID: ns.id.String(),
			SessionID: e.session, Count: count, Data: data})
	}
}

// presenceLoop sends presence on change (≤ 10/s per note) and as a
// heartbeat, and drops remote presences gone silent.
func (e *Engine) presenceLoop(ctx context.Context) {
	tick := time.NewTicker(presenceMinGap)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-e.wakePres:
		}
		e.mu.Lock()
		notes := slices.Collect(maps.Values(e.notes))
		e.mu.Unlock()
		now := time.Now()
		for _, ns := range notes {
			dps := ns.activePeers()
			ns.pres.mu.Lock()
			send := len(dps) > 0 && ((ns.pres.dirty && now.Sub(ns.pres.lastSent) >= presenceMinGap) ||
				now.Sub(ns.pres.lastSent) >= e.cfg.Heartbeat)
			if send {
				ns.pres.dirty = false
				ns.pres.lastSent = now
			}
			gone := false
			for k, r := range ns.pres.remote {
				if now.Sub(r.seen) > e.cfg.PresenceTimeout {
					delete(ns.pres.remote, k)
					gone = true
				}
			}
			ns.pres.mu.Unlock()
			if send {
				e.sendPresence(ns, dps, "snapshot")
			}
			if gone {
				e.emit(Event{Kind: PresenceChanged, Note: ns.id})
			}
		}
	}
}

// onEphemeral handles an ephemeral message: de-duplicated, rate-limited,
// relayed unchanged to the note's other peers, and read as presence.
func (c *conn) onEphemeral(id crdt.DocumentID, m *wire.Ephemeral) bool {
	e := c.e
	if m.SenderID == e.self {
		return true
	}
	dp := c.doc(id)
	if dp == nil || !dp.isActive() {
		e.invitationPresence(c, id, m)
		return true
	}
	ns := dp.ns
	if !ns.pres.fresh(m.SenderID, m.SessionID, m.Count) || !ns.pres.allow(m.SenderID) {
		return true
	}
	for _, o := range ns.activePeers() {
		if o.c == c || o.c.remoteSender == m.SenderID {
			continue
		}
		relay := *m
		relay.TargetID = o.c.remoteSender
		o.c.send(&relay)
	}
	if ns.pres.apply(m.SenderID, m.Data, c) {
		e.emit(Event{Kind: PresenceChanged, Note: id, Peer: m.SenderID})
	}
	return true
}

// decodePresence reads an automerge-repo Presence envelope; ok=false for
// anything else.
func decodePresence(data []byte) (typ string, state map[string]any, channel string, value any, ok bool) {
	var v map[string]any
	if err := presenceDec.Unmarshal(data, &v); err != nil {
		return "", nil, "", nil, false
	}
	p, _ := v["__presence"].(map[string]any)
	if p == nil {
		return "", nil, "", nil, false
	}
	typ, _ = p["type"].(string)
	state, _ = p["state"].(map[string]any)
	channel, _ = p["channel"].(string)
	return typ, state, channel, p["value"], typ != ""
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
		if len(p.remote) >= 256 {
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

func lastRunes(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

func firstRunes(s string, n int) string {
	r := []rune(s)
	return string(r[:min(len(r), n)])
}

func headsKeyStrings(ss []string) string {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return strings.Join(ss, ",")
}

func headsKey(hs []crdt.ChangeHash) string {
	ss := make([]string, len(hs))
	for i, h := range hs {
		ss[i] = hex.EncodeToString(h[:])
	}
	return headsKeyStrings(ss)
}

// Presence lists remote peers' presence in note id, cursors placed on our
// copy of the text: as sent when our heads equal the sender's, else
// re-anchored by the text that was around them (PROTOCOL.md, Presence).
func (e *Engine) Presence(id crdt.DocumentID) []Presence {
	e.mu.Lock()
	ns := e.notes[id]
	e.mu.Unlock()
	if ns == nil {
		return nil
	}
	return ns.presenceSnapshot()
}

func (ns *noteState) presenceSnapshot() []Presence {
	doc := ns.note.Doc()
	heads, ok := doc.CommittedHeads()
	key := "?" // edits open: heads unknown, never equal to a sender's
	if ok {
		key = headsKey(heads)
	}
	p := &ns.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	var text []rune
	textFor := func() []rune {
		if text != nil {
			return text
		}
		if key != "?" && p.text.key == key {
			text = p.text.runes
			return text
		}
		s, err := doc.Text()
		if err != nil {
			text = []rune{}
			return text
		}
		text = []rune(s)
		p.text.key, p.text.runes = key, text
		return text
	}
	out := make([]Presence, 0, len(p.remote))
	for _, r := range p.remote {
		if r.hasCursor && r.resolvedAt != key {
			if r.resolvedAt == "" && r.heads != "" && r.heads == key {
				// Same document as the sender's: the positions are exact.
			} else {
				t := textFor()
				delta := reanchor(t, r.cursor, r.before, r.after) - r.cursor
				r.cursor = clamp(r.cursor+delta, len(t))
				r.anchor = clamp(r.anchor+delta, len(t))
			}
			r.resolvedAt = key
		}
		out = append(out, Presence{Peer: r.peer, Name: r.name, Color: r.color, HasCursor: r.hasCursor,
			Cursor: r.cursor, Anchor: r.anchor, Seen: r.seen})
	}
	slices.SortFunc(out, func(a, b Presence) int { return strings.Compare(a.Peer, b.Peer) })
	return out
}

func clamp(n, hi int) int { return max(0, min(n, hi)) }

// reanchor places a cursor that was at pos with before/after around it on
// text: kept if its context still surrounds it, else moved to the nearest
// match of before+after, of before (just after it), of after (just before
// it) within searchRadius runes; clamped if nothing matches.
func reanchor(text []rune, pos int, before, after string) int {
	b, a := []rune(before), []rune(after)
	at := func(p int, s []rune) bool {
		return p >= 0 && p+len(s) <= len(text) && slices.Equal(text[p:p+len(s)], s)
	}
	if len(b)+len(a) == 0 {
		return clamp(pos, len(text))
	}
	if at(pos-len(b), b) && at(pos, a) {
		return pos
	}
	lo, hi := max(0, pos-searchRadius-len(b)-len(a)), min(len(text), pos+searchRadius+len(b)+len(a))
	nearest := func(pattern []rune, offset int) (int, bool) {
		best, found := 0, false
		if len(pattern) == 0 {
			return 0, false
		}
		for i := lo; i+len(pattern) <= hi; i++ {
			if text[i] != pattern[0] || !slices.Equal(text[i:i+len(pattern)], pattern) {
				continue
			}
			p := i + offset
			if !found || abs(p-pos) < abs(best-pos) {
				best, found = p, true
			}
		}
		return best, found
	}
	if len(b) > 0 && len(a) > 0 {
		if p, ok := nearest(append(slices.Clone(b), a...), len(b)); ok {
			return p
		}
	}
	if at(pos-len(b), b) && len(b) > 0 || at(pos, a) && len(a) > 0 {
		return pos
	}
	if p, ok := nearest(b, len(b)); ok {
		return p
	}
	if p, ok := nearest(a, 0); ok {
		return p
	}
	return clamp(pos, len(text))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

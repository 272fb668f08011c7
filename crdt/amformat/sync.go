package amformat

import (
	"math"
)

// Sync message types (their first byte).
const (
	syncMessageV1 = 0x42
	syncMessageV2 = 0x43 // JS Automerge, to peers that ask for it
)

// SyncMessage is a version-1 sync message as the 2023 core speaks it.
type SyncMessage struct {
	Heads []Hash // sorted
	Need  []Hash // sorted
	Have  []Have // at most one: the core never sends more
	// Changes are the change chunks carried, each decoded and checked;
	// Raw keeps their bytes as sent.
	Changes    []*Change
	RawChanges [][]byte
	// Flags are the capability flags newer writers append (JS sends 0x02,
	// "understands version 2", and a bitfield); nil when absent.
	Flags []byte
}

const maxSyncFlags = 16

// Have is what the sender has: the heads it last synced at and a bloom
// filter of the changes it has since.
type Have struct {
	LastSync []Hash
	Bloom    Bloom
}

// Bloom is a sync message's bloom filter. The zero Bloom (no entries) is
// the empty filter, encoded as no bytes.
type Bloom struct {
	Entries      uint32
	BitsPerEntry uint32
	Probes       uint32
	Bits         []byte
}

// The bloom parameters the core and JS use; others are accepted within
// bounds that keep the core's arithmetic in range.
const (
	bloomBitsPerEntry = 10
	bloomProbes       = 7
	maxBloomBits      = 64
	maxBloomProbes    = 64
)

// DecodeSyncMessage decodes a version-1 sync message within DefaultLimits.
func DecodeSyncMessage(b []byte) (*SyncMessage, error) { return DefaultLimits.DecodeSyncMessage(b) }

// DecodeSyncMessage decodes a version-1 sync message within l, decoding and
// checking every change it carries.
func (l Limits) DecodeSyncMessage(b []byte) (*SyncMessage, error) {
	if len(b) > l.MaxBytes {
		return nil, tooLarge("sync message of %d bytes exceeds the limit of %d", len(b), l.MaxBytes)
	}
	if len(b) == 0 {
		return nil, malformed("empty sync message")
	}
	switch b[0] {
	case syncMessageV1:
	case syncMessageV2:
		return nil, unsupported("version 2 sync message (0x43); the 2023 core speaks version 1 (0x42)")
	default:
		return nil, malformed("not a sync message (first byte %#x)", b[0])
	}
	cur := &cursor{b: b, pos: 1, what: "sync message"}
	m := &SyncMessage{}
	m.Heads = sortedHashes(cur, "heads", l.MaxHashes)
	m.Need = sortedHashes(cur, "need", l.MaxHashes)
	// A have is at least two bytes (two empty lengths).
	nHave := cur.count("haves", 2, 1)
	for i := 0; i < nHave && cur.err == nil; i++ {
		var h Have
		h.LastSync = sortedHashes(cur, "last sync", l.MaxHashes)
		n := cur.uleb("bloom length")
		if cur.err == nil && n > uint64(l.MaxBloomBytes)+32 {
			cur.err = tooLarge("bloom filter of %d bytes exceeds the limit of %d", n, l.MaxBloomBytes)
		}
		raw := cur.bytes(n, "bloom filter")
		if cur.err != nil {
			break
		}
		bl, err := decodeBloom(raw, l.MaxBloomBytes)
		if err != nil {
			return nil, err
		}
		h.Bloom = bl
		m.Have = append(m.Have, h)
	}
	// A change takes at least its length byte and a chunk header.
	nChanges := cur.count("changes", 10, l.MaxChanges)
	budget := l.MaxChangeOps
	for i := 0; i < nChanges && cur.err == nil; i++ {
		n := cur.uleb("change length")
		raw := cur.bytes(n, "change")
		if cur.err != nil {
			break
		}
		ch, k, err := l.readChunk(raw, l.MaxInflated)
		if err != nil {
			return nil, err
		}
		if k != len(raw) {
			return nil, malformed("change %d: %d bytes after its chunk", i, len(raw)-k)
		}
		if ch.Type != ChunkChange {
			// The core parses whatever it finds as an uncompressed change.
			return nil, malformed("change %d: a %v chunk in a sync message", i, ch.Type)
		}
		c, err := l.changeFromChunk(ch, &budget)
		if err != nil {
			return nil, err
		}
		m.Changes = append(m.Changes, c)
		m.RawChanges = append(m.RawChanges, raw)
	}
	// Newer writers (JS Automerge 3) append a length-prefixed list of
	// capability flags, which the 2023 core ignores.
	if cur.err == nil && cur.remaining() > 0 {
		n := cur.uleb("flags length")
		if cur.err == nil && n > maxSyncFlags {
			cur.fail("%d bytes of flags", n)
		}
		m.Flags = cur.bytes(n, "flags")
		if m.Flags == nil {
			m.Flags = []byte{}
		}
	}
	if cur.err != nil {
		return nil, cur.err
	}
	if cur.remaining() != 0 {
		return nil, malformed("%d bytes after the sync message", cur.remaining())
	}
	return m, nil
}

func sortedHashes(cur *cursor, field string, max int) []Hash {
	hs := cur.hashes(field, max)
	for i := 1; i < len(hs) && cur.err == nil; i++ {
		if compareHashes(hs[i-1], hs[i]) >= 0 {
			cur.fail("%s not sorted and unique", field)
		}
	}
	return hs
}

// decodeBloom checks a bloom filter's parameters and size so that probing
// it stays in range (the core divides by its bit count and indexes by the
// probes it computes from them).
func decodeBloom(b []byte, maxBytes int) (Bloom, error) {
	if len(b) == 0 {
		return Bloom{}, nil
	}
	cur := &cursor{b: b, what: "bloom filter"}
	var bl Bloom
	entries := cur.uleb("entries")
	bits := cur.uleb("bits per entry")
	probes := cur.uleb("probes")
	if cur.err != nil {
		return Bloom{}, cur.err
	}
	if entries == 0 || entries > math.MaxUint32 {
		return Bloom{}, malformed("bloom filter with %d entries", entries)
	}
	if bits == 0 || bits > maxBloomBits {
		return Bloom{}, malformed("bloom filter with %d bits per entry", bits)
	}
	if probes == 0 || probes > maxBloomProbes {
		return Bloom{}, malformed("bloom filter with %d probes", probes)
	}
	size := (entries*bits + 7) / 8
	if size > uint64(maxBytes) || size*8 > math.MaxUint32 {
		return Bloom{}, tooLarge("bloom filter of %d bytes", size)
	}
	if uint64(cur.remaining()) != size {
		return Bloom{}, malformed("bloom filter holds %d bytes, its parameters need %d", cur.remaining(), size)
	}
	bl.Entries, bl.BitsPerEntry, bl.Probes = uint32(entries), uint32(bits), uint32(probes)
	bl.Bits = b[cur.pos:]
	return bl, nil
}

// NewBloom builds the filter the core would for these change hashes.
func NewBloom(hashes []Hash) Bloom {
	if len(hashes) == 0 {
		return Bloom{}
	}
	bl := Bloom{Entries: uint32(len(hashes)), BitsPerEntry: bloomBitsPerEntry, Probes: bloomProbes}
	bl.Bits = make([]byte, (uint64(len(hashes))*bloomBitsPerEntry+7)/8)
	for _, h := range hashes {
		for _, p := range bl.probes(h) {
			bl.Bits[p>>3] |= 1 << (p & 7)
		}
	}
	return bl
}

func (bl Bloom) probes(h Hash) []uint32 {
	mod := uint32(8 * len(bl.Bits))
	le := func(i int) uint32 { return uint32(h[i]) | uint32(h[i+1])<<8 | uint32(h[i+2])<<16 | uint32(h[i+3])<<24 }
	x, y, z := le(0)%mod, le(4)%mod, le(8)%mod
	out := make([]uint32, 0, bl.Probes)
	out = append(out, x)
	for i := uint32(1); i < bl.Probes; i++ {
		x = uint32((uint64(x) + uint64(y)) % uint64(mod))
		y = uint32((uint64(y) + uint64(z)) % uint64(mod))
		out = append(out, x)
	}
	return out
}

// Contains reports whether the filter may contain h.
func (bl Bloom) Contains(h Hash) bool {
	if bl.Entries == 0 || len(bl.Bits) == 0 {
		return false
	}
	for _, p := range bl.probes(h) {
		if bl.Bits[p>>3]&(1<<(p&7)) == 0 {
			return false
		}
	}
	return true
}

func (bl Bloom) appendTo(b []byte) []byte {
	if bl.Entries == 0 {
		return b
	}
	b = appendUleb(b, uint64(bl.Entries))
	b = appendUleb(b, uint64(bl.BitsPerEntry))
	b = appendUleb(b, uint64(bl.Probes))
	return append(b, bl.Bits...)
}

// Encode writes the message as the core does. Changes are taken from
// RawChanges when set, else encoded from Changes.
func (m *SyncMessage) Encode() []byte {
	b := []byte{syncMessageV1}
	b = appendHashes(b, m.Heads)
	b = appendHashes(b, m.Need)
	b = appendUleb(b, uint64(len(m.Have)))
	for _, h := range m.Have {
		b = appendHashes(b, h.LastSync)
		bl := h.Bloom.appendTo(nil)
		b = appendUleb(b, uint64(len(bl)))
		b = append(b, bl...)
	}
	raws := m.RawChanges
	if raws == nil {
		for _, c := range m.Changes {
			raws = append(raws, c.Encode())
		}
	}
	b = appendUleb(b, uint64(len(raws)))
	for _, r := range raws {
		b = appendUleb(b, uint64(len(r)))
		b = append(b, r...)
	}
	if m.Flags != nil {
		b = appendUleb(b, uint64(len(m.Flags)))
		b = append(b, m.Flags...)
	}
	return b
}

func appendHashes(b []byte, hs []Hash) []byte {
	b = appendUleb(b, uint64(len(hs)))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

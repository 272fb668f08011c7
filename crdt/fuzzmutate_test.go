package crdt

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/collab-editor/collab/crdt/amformat"
	"github.com/collab-editor/collab/internal/trace"
)

// The mutations of TestFuzzCore: deterministic from the run's seed. Half
// the executions sweep every seed systematically (every bit flipped, raw
// and with the chunk checksums fixed, then every truncation) until the
// sweep is done; the others, and all after it, stack one to four random
// mutations (bit and byte flips, truncations, cuts, splices between seeds,
// varints, and structure-aware ones that decode a change or sync message
// with amformat, change a field and encode it again), then usually fix
// every chunk checksum so the damage reaches the core's parser instead of
// its checksum test.

func inputHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// fuzzCorpus is the seeds per target: testdata/seeds/<target>/ (made from
// edits on the base, from the paper trace and from JavaScript Automerge;
// see TestMakeFuzzSeeds), plus what other targets' seeds offer it.
func fuzzCorpus(t *testing.T) fuzzCorpusSet {
	t.Helper()
	own := seeds(t)
	set := fuzzCorpusSet{}
	for _, target := range targets {
		set[target] = slices.Clone(own[target])
	}
	// Apply takes whole documents too; merge takes change records.
	set["apply"] = append(set["apply"], own["load"]...)
	set["merge"] = append(set["merge"], own["load"]...)
	if len(own["apply"]) > 0 {
		set["merge"] = append(set["merge"], slices.Concat(own["apply"]...))
	}
	for target, pool := range set {
		set[target] = dedupeInputs(pool)
	}
	return set
}

func dedupeInputs(in [][]byte) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for _, b := range in {
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, b)
		}
	}
	return out
}

type mutator struct {
	rng    *rand.Rand
	target string
	pool   [][]byte
	all    [][]byte
	hashes []amformat.Hash // change hashes and heads the seeds name
	sweep  sweeper
	n      int
}

func newMutator(seed uint64, target string, pool, all [][]byte) *mutator {
	h := fnv.New64a()
	h.Write([]byte(target))
	m := &mutator{
		rng:    rand.New(rand.NewPCG(seed, h.Sum64())),
		target: target,
		pool:   pool,
		all:    all,
		sweep:  sweeper{pool: pool},
	}
	for _, b := range all {
		m.hashes = append(m.hashes, knownHashes(b)...)
	}
	return m
}

// knownHashes are the change hashes b holds or names.
func knownHashes(b []byte) []amformat.Hash {
	var out []amformat.Hash
	if msg, err := amformat.DecodeSyncMessage(b); err == nil {
		out = append(out, msg.Heads...)
		for _, c := range msg.Changes {
			out = append(out, c.Hash)
		}
		return out
	}
	chunks, err := amformat.SplitChunks(b)
	if err != nil {
		return nil
	}
	for _, ch := range chunks {
		if ch.Type == amformat.ChunkDocument {
			if d, err := amformat.DecodeDocument(ch.Raw); err == nil {
				if hs, err := d.HistoryHashes(); err == nil {
					out = append(out, hs...)
				}
			}
			continue
		}
		if c, err := amformat.DecodeChange(ch.Raw); err == nil {
			out = append(out, c.Hash)
			out = append(out, c.Deps...)
		}
	}
	return out
}

func (m *mutator) next() []byte {
	m.n++
	if m.n%2 == 0 {
		if b, ok := m.sweep.next(); ok {
			return b
		}
	}
	return m.havoc()
}

// sweeper walks every seed: each bit flipped, each bit flipped with the
// chunk checksums fixed, each truncation.
type sweeper struct {
	pool  [][]byte
	seed  int
	phase int
	pos   int
	done  bool
	count int
}

// sweepSize is how many inputs a sweep of pool yields at most.
func sweepSize(pool [][]byte) int {
	n := 0
	for _, b := range pool {
		n += 2*8*len(b) + len(b)
	}
	return n
}

func (s *sweeper) next() ([]byte, bool) {
	for !s.done {
		if s.seed >= len(s.pool) {
			s.done = true
			break
		}
		b := s.pool[s.seed]
		limit := 8 * len(b)
		if s.phase == 2 {
			limit = len(b)
		}
		if s.pos >= limit {
			s.phase, s.pos = s.phase+1, 0
			if s.phase == 3 {
				s.seed, s.phase = s.seed+1, 0
			}
			continue
		}
		i := s.pos
		s.pos++
		s.count++
		switch s.phase {
		case 0:
			out := slices.Clone(b)
			out[i/8] ^= 1 << (i % 8)
			return out, true
		case 1:
			out := slices.Clone(b)
			out[i/8] ^= 1 << (i % 8)
			return fixChecksums(out), true
		default:
			return slices.Clone(b[:i]), true
		}
	}
	return nil, false
}

// fixChecksums recomputes the checksum of every uncompressed chunk whose
// header and body lie within b, wherever it starts (a sync message carries
// change chunks inside it), innermost last-to-first so a chunk inside
// another is fixed before the one around it.
func fixChecksums(b []byte) []byte {
	for off := len(b) - 9; off >= 0; off-- {
		if b[off] != amformat.Magic[0] || !amformat.IsAutomerge(b[off:]) {
			continue
		}
		typ := b[off+8]
		if typ > byte(amformat.ChunkChange) {
			continue
		}
		n, k := binary.Uvarint(b[off+9:])
		if k <= 0 || n > uint64(len(b)-off-9-k) {
			continue
		}
		end := off + 9 + k + int(n)
		sum := sha256.Sum256(b[off+8 : end])
		copy(b[off+4:off+8], sum[:4])
	}
	return b
}

var interestingBytes = []byte{0, 1, 2, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x42, 0x43}

var interestingUints = []uint64{0, 1, 2, 3, 7, 8, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000,
	0xffff, 0x10000, math.MaxInt32, math.MaxInt32 + 1, math.MaxUint32, math.MaxUint32 + 1,
	1 << 53, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64 - 1, math.MaxUint64}

func (m *mutator) interesting() uint64 {
	if m.rng.IntN(4) == 0 {
		return uint64(m.rng.IntN(64))
	}
	return interestingUints[m.rng.IntN(len(interestingUints))]
}

func (m *mutator) pick(from [][]byte) []byte { return from[m.rng.IntN(len(from))] }

func (m *mutator) havoc() []byte {
	b := slices.Clone(m.pick(m.pool))
	for range 1 << m.rng.IntN(3) {
		b = m.mutate(b)
	}
	if m.rng.IntN(5) != 0 {
		b = fixChecksums(b)
	}
	return b
}

func (m *mutator) mutate(b []byte) []byte {
	if len(b) == 0 {
		return slices.Clone(m.pick(m.all))
	}
	r := m.rng
	switch r.IntN(14) {
	case 0: // flip a bit
		i := r.IntN(len(b) * 8)
		b[i/8] ^= 1 << (i % 8)
	case 1: // an interesting byte
		b[r.IntN(len(b))] = interestingBytes[r.IntN(len(interestingBytes))]
	case 2: // a random byte
		b[r.IntN(len(b))] = byte(r.Uint32())
	case 3: // truncate
		b = b[:r.IntN(len(b))]
	case 4: // cut a range out
		i := r.IntN(len(b))
		j := i + 1 + r.IntN(min(len(b)-i, 64))
		b = append(b[:i], b[j:]...)
	case 5: // duplicate a range in place
		i := r.IntN(len(b))
		j := i + 1 + r.IntN(min(len(b)-i, 64))
		b = slices.Insert(b, j, slices.Clone(b[i:j])...)
	case 6: // splice: our head, another seed's tail
		o := m.pick(m.all)
		b = append(b[:r.IntN(len(b)+1)], o[r.IntN(len(o)+1):]...)
	case 7: // a varint of an interesting value, over or into the bytes
		v := binary.AppendUvarint(nil, m.interesting())
		i := r.IntN(len(b))
		if r.IntN(2) == 0 {
			b = slices.Insert(b, i, v...)
		} else {
			b = append(b[:i], append(v, b[min(len(b), i+len(v)):]...)...)
		}
	case 8: // another seed appended (records are concatenated chunks)
		b = append(b, m.pick(m.all)...)
	case 9: // a range of another seed copied over ours
		o := m.pick(m.all)
		if len(o) > 0 {
			i, j := r.IntN(len(o)), r.IntN(len(b))
			n := min(len(o)-i, len(b)-j, 1+r.IntN(32))
			copy(b[j:j+n], o[i:i+n])
		}
	default: // structure-aware
		if s, ok := m.structural(b); ok {
			return s
		}
		i := r.IntN(len(b) * 8)
		b[i/8] ^= 1 << (i % 8)
	}
	return b
}

// structural decodes b as a sync message, a sync state or chunks, changes
// one field and encodes it again (ok=false: b is none of them).
func (m *mutator) structural(b []byte) (out []byte, ok bool) {
	defer func() {
		// A mutation the encoder cannot write is simply not made: this
		// is the mutator, not code under test.
		if recover() != nil {
			out, ok = nil, false
		}
	}()
	switch {
	case b[0] == 0x42:
		msg, err := amformat.DecodeSyncMessage(b)
		if err != nil {
			return nil, false
		}
		m.mutateSync(msg)
		return msg.Encode(), true
	case b[0] == syncStateType:
		return m.mutateSyncState(), true
	}
	chunks, err := amformat.SplitChunks(b)
	if err != nil || len(chunks) == 0 {
		return nil, false
	}
	i := m.rng.IntN(len(chunks))
	var repl []byte
	if chunks[i].Type == amformat.ChunkDocument {
		d, err := amformat.DecodeDocument(chunks[i].Raw)
		if err != nil {
			return nil, false
		}
		hist, err := d.History()
		if err != nil || len(hist) == 0 {
			return nil, false
		}
		// The document as its changes, one of them changed (or the
		// order, or one left out).
		switch m.rng.IntN(4) {
		case 0:
			j := m.rng.IntN(len(hist))
			hist = append(hist[:j], hist[j+1:]...)
		case 1:
			j, k := m.rng.IntN(len(hist)), m.rng.IntN(len(hist))
			hist[j], hist[k] = hist[k], hist[j]
		default:
			m.mutateChange(hist[m.rng.IntN(len(hist))])
		}
		for _, c := range hist {
			repl = append(repl, c.Encode()...)
		}
	} else {
		c, err := amformat.DecodeChange(chunks[i].Raw)
		if err != nil {
			return nil, false
		}
		m.mutateChange(c)
		repl = c.Encode()
	}
	for j, ch := range chunks {
		if j == i {
			out = append(out, repl...)
		} else {
			out = append(out, ch.Raw...)
		}
	}
	return out, true
}

func (m *mutator) hash() amformat.Hash {
	if len(m.hashes) > 0 && m.rng.IntN(4) != 0 {
		return m.hashes[m.rng.IntN(len(m.hashes))]
	}
	var h amformat.Hash
	for i := range h {
		h[i] = byte(m.rng.Uint32())
	}
	return h
}

func (m *mutator) mutateHashes(hs []amformat.Hash) []amformat.Hash {
	switch m.rng.IntN(4) {
	case 0:
		return append(hs, m.hash())
	case 1:
		if len(hs) > 0 {
			j := m.rng.IntN(len(hs))
			return append(hs[:j], hs[j+1:]...)
		}
		return hs
	case 2:
		if len(hs) > 0 {
			return append(hs, hs[m.rng.IntN(len(hs))])
		}
		return hs
	default:
		if len(hs) > 0 {
			hs[m.rng.IntN(len(hs))] = m.hash()
		}
		return hs
	}
}

func (m *mutator) mutateSync(msg *amformat.SyncMessage) {
	r := m.rng
	switch r.IntN(7) {
	case 0:
		msg.Heads = m.mutateHashes(msg.Heads)
	case 1:
		msg.Need = m.mutateHashes(msg.Need)
	case 2:
		if len(msg.Have) == 0 || r.IntN(3) == 0 {
			msg.Have = append(msg.Have, amformat.Have{LastSync: []amformat.Hash{m.hash()}})
		}
		h := &msg.Have[r.IntN(len(msg.Have))]
		switch r.IntN(5) {
		case 0:
			h.LastSync = m.mutateHashes(h.LastSync)
		case 1:
			h.Bloom.Entries = uint32(m.interesting())
		case 2:
			h.Bloom.BitsPerEntry = uint32(m.interesting())
		case 3:
			h.Bloom.Probes = uint32(m.interesting())
		default:
			h.Bloom.Bits = m.mutate(append(slices.Clone(h.Bloom.Bits), byte(r.Uint32())))
		}
	case 3:
		if r.IntN(2) == 0 {
			msg.Flags = nil
		} else {
			msg.Flags = append(msg.Flags, byte(m.interesting()))
		}
	default: // the changes it carries
		raws := msg.RawChanges
		if raws == nil {
			for _, c := range msg.Changes {
				raws = append(raws, c.Encode())
			}
		}
		switch {
		case len(raws) == 0 || r.IntN(4) == 0:
			raws = append(raws, m.changeFrom(m.pick(m.all)))
		case r.IntN(3) == 0:
			j := r.IntN(len(raws))
			raws = append(raws[:j], raws[j+1:]...)
		default:
			j := r.IntN(len(raws))
			if c, err := amformat.DecodeChange(raws[j]); err == nil {
				m.mutateChange(c)
				raws[j] = c.Encode()
			}
		}
		msg.RawChanges = raws
		if len(raws) == 0 {
			msg.RawChanges = [][]byte{}
		}
	}
}

// changeFrom is one change chunk of b, or b itself.
func (m *mutator) changeFrom(b []byte) []byte {
	chunks, err := amformat.SplitChunks(b)
	if err != nil || len(chunks) == 0 {
		return b
	}
	return chunks[m.rng.IntN(len(chunks))].Raw
}

// mutateSyncState writes a sync state naming some known hashes, its count
// sometimes off.
func (m *mutator) mutateSyncState() []byte {
	n := m.rng.IntN(4)
	count := uint64(n)
	if m.rng.IntN(4) == 0 {
		count = m.interesting()
	}
	b := binary.AppendUvarint([]byte{syncStateType}, count)
	for range n {
		h := m.hash()
		b = append(b, h[:]...)
	}
	return b
}

func (m *mutator) opID(c *amformat.Change) amformat.OpID {
	actors := uint32(len(c.OtherActors) + 1)
	id := amformat.OpID{Counter: c.StartOp + uint64(m.rng.IntN(len(c.Ops)+2)), Actor: uint32(m.rng.IntN(int(actors)))}
	switch m.rng.IntN(6) {
	case 0:
		id.Counter = m.interesting()
	case 1:
		id.Actor = uint32(m.rng.IntN(int(actors) + 3))
	case 2:
		id.Counter = uint64(m.rng.IntN(int(c.StartOp) + 1))
	}
	return id
}

func (m *mutator) value() amformat.Value {
	switch m.rng.IntN(9) {
	case 0:
		return amformat.Null()
	case 1:
		return amformat.Bool(m.rng.IntN(2) == 0)
	case 2:
		return amformat.Uint(m.interesting())
	case 3:
		return amformat.Int(int64(m.interesting()))
	case 4:
		return amformat.Float(math.Float64frombits(m.interesting()))
	case 5:
		return amformat.Counter(int64(m.interesting()))
	case 6:
		return amformat.Timestamp(int64(m.interesting()))
	case 7:
		return amformat.BytesValue([]byte{byte(m.rng.Uint32())})
	}
	return amformat.Str(m.str())
}

func (m *mutator) str() string {
	return []string{"", "x", KeyText, KeyTitle, "☃", "\x00", "\xff\xfe", "a\u0301", "long " + string(make([]byte, 300))}[m.rng.IntN(9)]
}

func (m *mutator) actor() amformat.ActorID {
	n := []int{0, 1, 16, 16, 16, 33}[m.rng.IntN(6)]
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(m.rng.Uint32())
	}
	return amformat.ActorID(b)
}

func (m *mutator) mutateChange(c *amformat.Change) {
	r := m.rng
	switch r.IntN(12) {
	case 0:
		c.Seq = m.interesting()
	case 1:
		c.StartOp = m.interesting()
	case 2:
		c.Deps = m.mutateHashes(c.Deps)
	case 3:
		c.Actor = m.actor()
	case 4:
		if len(c.OtherActors) > 0 && r.IntN(2) == 0 {
			c.OtherActors = append(c.OtherActors, c.OtherActors[0])
		} else {
			c.OtherActors = append(c.OtherActors, m.actor())
		}
	case 5:
		if r.IntN(2) == 0 {
			c.Time = int64(m.interesting())
		} else {
			c.Message = m.str()
		}
	default:
		m.mutateOps(c)
	}
}

func (m *mutator) mutateOps(c *amformat.Change) {
	r := m.rng
	if len(c.Ops) == 0 || r.IntN(8) == 0 {
		c.Ops = append(c.Ops, amformat.Op{Obj: m.opID(c), Key: amformat.Key{Elem: m.opID(c), IsElem: true},
			Insert: true, Action: amformat.ActionPut, Value: m.value()})
		return
	}
	i := r.IntN(len(c.Ops))
	op := &c.Ops[i]
	switch r.IntN(11) {
	case 0:
		op.Action = amformat.Action(r.IntN(10))
	case 1:
		op.Insert = !op.Insert
	case 2:
		op.Obj = m.opID(c)
	case 3:
		op.Key.IsElem = !op.Key.IsElem
		if op.Key.IsElem {
			op.Key.Elem = m.opID(c)
		} else {
			op.Key.Prop = m.str()
		}
	case 4:
		if op.Key.IsElem {
			op.Key.Elem = m.opID(c)
		} else {
			op.Key.Prop = m.str()
		}
	case 5:
		op.Value = m.value()
	case 6:
		switch {
		case len(op.Pred) > 0 && r.IntN(2) == 0:
			op.Pred = op.Pred[:r.IntN(len(op.Pred))]
		default:
			op.Pred = append(op.Pred, m.opID(c))
		}
	case 7:
		op.Expand = !op.Expand
		op.HasMarkName = !op.HasMarkName
		op.MarkName = m.str()
	case 8:
		c.Ops = append(c.Ops[:i], c.Ops[i+1:]...)
	case 9:
		c.Ops = slices.Insert(c.Ops, i, *op)
	default:
		j := r.IntN(len(c.Ops))
		c.Ops[i], c.Ops[j] = c.Ops[j], c.Ops[i]
	}
}

// TestMakeFuzzSeeds writes the seeds TestFuzzCore and the fuzz targets
// start from that do not come from edits on the base (those makeSeeds
// writes): from JavaScript Automerge 3.5 (amformat's testdata/js.json,
// written by node) and from the start of the paper trace replayed on top
// of the base. Run once, its output committed: COLLAB_FUZZ_MAKE_SEEDS=1.
func TestMakeFuzzSeeds(t *testing.T) {
	if os.Getenv("COLLAB_FUZZ_MAKE_SEEDS") == "" {
		t.Skip("set COLLAB_FUZZ_MAKE_SEEDS=1 to write the JS and paper-trace seeds")
	}
	writeSeeds := func(prefix string, out map[string][][]byte) {
		for target, inputs := range out {
			for _, b := range inputs {
				saveNamed(t, filepath.Join("testdata", "seeds", target), prefix+inputHash(b), b)
			}
		}
	}
	writeSeeds("js-", jsSeeds(t))
	writeSeeds("paper-", paperSeeds(t))
}

// jsSeeds are the documents, changes and sync messages JavaScript
// Automerge wrote for amformat's tests.
func jsSeeds(t *testing.T) map[string][][]byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("amformat", "testdata", "js.json"))
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Docs []struct {
			Doc string `json:"doc"`
		} `json:"docs"`
		Changes []struct {
			Change string `json:"change"`
		} `json:"changes"`
		Sync []string `json:"sync"`
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	decode := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := map[string][][]byte{}
	for _, d := range js.Docs {
		out["load"] = append(out["load"], decode(d.Doc))
		out["merge"] = append(out["merge"], decode(d.Doc))
	}
	for _, c := range js.Changes {
		out["apply"] = append(out["apply"], decode(c.Change))
	}
	for _, s := range js.Sync {
		out["sync"] = append(out["sync"], decode(s))
	}
	for target := range out {
		out[target] = dedupeInputs(out[target])
	}
	return out
}

// paperSeeds come from the first edits of the paper trace typed into a
// copy of the base, committed every paperSeedEvery edits: some of its
// changes one by one and all together, the whole document, the sync
// messages that bring a copy of the base up to it, and the sync state
// after.
func paperSeeds(t *testing.T) map[string][][]byte {
	t.Helper()
	const paperSeedEdits, paperSeedEvery = 400, 40
	tr := trace.Paper(t)
	n, _, err := Load(baseDocument(t), nil, "paper")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var changes [][]byte
	for i, e := range tr.Edits[:paperSeedEdits] {
		if err := n.Splice(e.Pos, e.Delete, e.Insert); err != nil {
			t.Fatalf("paper edit %d: %v", i, err)
		}
		if (i+1)%paperSeedEvery == 0 {
			cs, err := n.Commit()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				changes = append(changes, c.Bytes)
			}
		}
	}
	out := map[string][][]byte{}
	out["apply"] = [][]byte{changes[0], changes[len(changes)/2], changes[len(changes)-1], slices.Concat(changes...)}
	doc := mustSave(t, n)
	out["load"] = [][]byte{doc}
	out["merge"] = [][]byte{doc}
	ours, _, err := Load(baseDocument(t), nil, "ours")
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	syncPair(t, n, ours, func(_ int, m []byte) {
		if m != nil {
			out["sync"] = append(out["sync"], m)
		}
	})
	st := n.NewSyncState()
	if _, _, err := n.GenerateSyncMessage(st); err != nil {
		t.Fatal(err)
	}
	heads, err := n.Heads()
	if err != nil {
		t.Fatal(err)
	}
	shared, err := n.SyncStateSharing(heads)
	if err != nil {
		t.Fatal(err)
	}
	out["syncstate"] = [][]byte{n.SaveSyncState(st), n.SaveSyncState(shared)}
	return out
}

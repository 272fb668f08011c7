package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func notePath(nb *Notebook, id, name string) string {
	return filepath.Join(nb.Dir(), "notes", id, name)
}

func TestTornTail(t *testing.T) {
	nb := newNotebook(t)
	l, err := nb.Create("torn")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"first", "second", "third"}
	mustAppend(t, l, want...)
	l.Close()
	path := notePath(nb, "torn", "log.0")
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lastStart := len(full) - recordHeaderSize - len("third")

	for cut := lastStart; cut < len(full); cut++ {
		if err := os.WriteFile(path, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := nb.OpenNote("torn")
		if err != nil {
			t.Fatal(err)
		}
		_, got, warnings := mustLoad(t, l)
		if !equalStrings(got, want[:2]) {
			t.Fatalf("cut %d: loaded %q", cut, got)
		}
		if (cut > lastStart) != (len(warnings) > 0) {
			t.Fatalf("cut %d: warnings %v", cut, warnings)
		}
		// Poll sees the torn tail as "not yet", not as an error.
		if p, err := l.Poll(); err != nil || len(p) != 0 {
			t.Fatalf("cut %d: Poll = %q, %v", cut, p, err)
		}
		// The next Append cuts the torn tail off and appends after "second".
		if others := mustAppend(t, l, "fourth"); len(others) != 0 {
			t.Fatalf("cut %d: others %q", cut, others)
		}
		if cut > lastStart && len(l.Warnings()) == 0 {
			t.Fatalf("cut %d: repair not reported", cut)
		}
		l.Close()
		if st, _ := os.Stat(path); st.Size() != int64(lastStart+recordHeaderSize+len("fourth")) {
			t.Fatalf("cut %d: log size %d after repair", cut, st.Size())
		}
		l, _ = nb.OpenNote("torn")
		_, got, warnings = mustLoad(t, l)
		if !equalStrings(got, []string{"first", "second", "fourth"}) || len(warnings) != 0 {
			t.Fatalf("cut %d: after repair loaded %q, warnings %v", cut, got, warnings)
		}
		l.Close()
	}
	// Cut tails are kept unless they were only a partial record header.
	matches, _ := filepath.Glob(notePath(nb, "torn", "corrupt.*"))
	if want := len(full) - lastStart - recordHeaderSize; len(matches) != want {
		t.Errorf("%d cut tails kept, want %d", len(matches), want)
	}
}

// TestFlippedBytes damages one record in the middle of a log: every intact
// record after it is still read, the damage is reported, appends go on
// after it without cutting anything off, and before a compaction
// supersedes the log the damaged bytes are kept in corrupt.0.at-<offset>.
func TestFlippedBytes(t *testing.T) {
	for _, where := range []string{"payload", "length", "length-high", "checksum"} {
		t.Run(where, func(t *testing.T) {
			nb := newNotebook(t)
			l, err := nb.Create("flip")
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for i := 0; i < 10; i++ {
				all = append(all, fmt.Sprintf("record-%d", i))
			}
			mustAppend(t, l, all...)
			l.Close()
			path := notePath(nb, "flip", "log.0")
			data, _ := os.ReadFile(path)
			recLen := recordHeaderSize + len("record-0")
			start := logHeaderSize + 5*recLen // record 5
			switch where {
			case "payload":
				data[start+recordHeaderSize+3] ^= 0x40
			case "length":
				data[start] ^= 0x01 // still a plausible length
			case "length-high":
				data[start+2] ^= 0x01 // longer than the rest of the log
			case "checksum":
				data[start+5] ^= 0x80
			}
			os.WriteFile(path, data, 0o600)
			intact := append(all[:5:5], all[6:]...)

			l, _ = nb.OpenNote("flip")
			_, got, warnings := mustLoad(t, l)
			if !equalStrings(got, intact) {
				t.Fatalf("loaded %q, want every record but the damaged one", got)
			}
			if len(warnings) != 1 || !errors.Is(warnings[0], ErrCorrupt) ||
				!strings.Contains(warnings[0].Error(), fmt.Sprintf("offset %d", start)) {
				t.Fatalf("warnings = %v", warnings)
			}
			// Appending cuts nothing off: the damaged record and those
			// after it stay in the log.
			mustAppend(t, l, "new")
			if w := l.Warnings(); len(w) != 0 {
				t.Fatalf("append warned %v", w)
			}
			after, _ := os.ReadFile(path)
			if !bytes.HasPrefix(after, data) {
				t.Fatal("append changed the bytes already in the log")
			}
			// A second process reading from the start sees the same.
			l2, _ := nb.OpenNote("flip")
			if _, got, _ := mustLoad(t, l2); !equalStrings(got, append(intact, "new")) {
				t.Fatalf("second reader loaded %q", got)
			}
			l2.Close()

			// Compacting sets the damaged bytes aside first.
			if err := l.Compact(func([][]byte) ([]byte, error) { return []byte("snapshot"), nil }); err != nil {
				t.Fatal(err)
			}
			matches, _ := filepath.Glob(notePath(nb, "flip", "corrupt.0.*"))
			if len(matches) != 1 || filepath.Base(matches[0]) != fmt.Sprintf("corrupt.0.at-%d", start) {
				t.Fatalf("corrupt files: %v", matches)
			}
			saved, _ := os.ReadFile(matches[0])
			if string(saved) != string(data[start:start+recLen]) {
				t.Fatalf("corrupt.* holds %q, not the damaged record %q", saved, data[start:start+recLen])
			}
			if w := l.Warnings(); len(w) != 1 || !strings.Contains(w[0].Error(), filepath.Base(matches[0])) {
				t.Fatalf("compact warnings = %v", w)
			}
			l.Close()
		})
	}
}

// threeGenerations builds a note with snap.1 = {a,b}, snap.2 = {a,b,c,d},
// log.1 = c,d, log.2 = e.
func threeGenerations(t *testing.T) *Notebook {
	t.Helper()
	nb := newNotebook(t)
	l, err := nb.Create("g")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d := newDoc(t, "g")
	step := func(rs ...string) {
		mustAppend(t, l, rs...)
		d.apply(rs...)
	}
	compact := func() {
		if err := l.Compact(func(u [][]byte) ([]byte, error) { d.apply(strs(u)...); return d.save(), nil }); err != nil {
			t.Fatal(err)
		}
	}
	step("a", "b")
	compact()
	step("c", "d")
	compact()
	step("e")
	return nb
}

func TestCorruptNewestSnapshot(t *testing.T) {
	for _, damage := range []string{"flip", "truncate", "remove"} {
		t.Run(damage, func(t *testing.T) {
			nb := threeGenerations(t)
			p := notePath(nb, "g", "snap.2")
			data, _ := os.ReadFile(p)
			switch damage {
			case "flip":
				data[len(data)-1] ^= 1
				os.WriteFile(p, data, 0o600)
			case "truncate":
				os.WriteFile(p, data[:len(data)-1], 0o600)
			case "remove":
				os.Remove(p)
			}
			l, _ := nb.OpenNote("g")
			defer l.Close()
			snap, got, warnings := mustLoad(t, l)
			if snap != "a\nb" || !equalStrings(got, []string{"c", "d", "e"}) {
				t.Fatalf("loaded %q + %q", snap, got)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "snap.2") {
				t.Fatalf("warnings = %v", warnings)
			}
			// The reader is positioned at the end of the current log.
			if others := mustAppend(t, l, "f"); len(others) != 0 {
				t.Fatalf("others = %q", others)
			}
			if p := l.Position(); p.Gen != 2 {
				t.Fatalf("position %+v", p)
			}
		})
	}
}

func TestAllSnapshotsBad(t *testing.T) {
	cases := map[string]func(nb *Notebook){
		"both snapshots flipped": func(nb *Notebook) {
			for _, n := range []string{"snap.1", "snap.2"} {
				p := notePath(nb, "g", n)
				data, _ := os.ReadFile(p)
				data[blobHeaderSize] ^= 0xff
				os.WriteFile(p, data, 0o600)
			}
		},
		"newest bad, backup log gone": func(nb *Notebook) {
			p := notePath(nb, "g", "snap.2")
			os.WriteFile(p, []byte("garbage"), 0o600)
			os.Remove(notePath(nb, "g", "log.1"))
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			nb := threeGenerations(t)
			damage(nb)
			before := dirState(t, nb.Dir())
			l, err := nb.OpenNote("g")
			if err != nil {
				t.Fatal(err)
			}
			_, _, _, err = l.Load()
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load: %v", err)
			}
			t.Log(err)
			if _, err := l.Append(recs("x")...); !errors.Is(err, ErrNotLoaded) {
				t.Fatalf("Append after failed Load: %v", err)
			}
			l.Close()
			after := dirState(t, nb.Dir())
			if len(before) != len(after) {
				t.Fatalf("files changed: %d -> %d", len(before), len(after))
			}
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("%s changed", k)
				}
			}
		})
	}
}

func TestWrongVersion(t *testing.T) {
	nb := newNotebook(t)
	l, _ := nb.Create("v")
	mustAppend(t, l, "a")
	l.Close()
	p := notePath(nb, "v", "log.0")
	data, _ := os.ReadFile(p)
	binary.LittleEndian.PutUint16(data[magicLen:], FormatVersion+1)
	os.WriteFile(p, data, 0o600)
	l, _ = nb.OpenNote("v")
	defer l.Close()
	_, _, _, err := l.Load()
	if !errors.Is(err, ErrVersion) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Load of a version-2 log: %v", err)
	}
	t.Log(err)

	// A newer snapshot is also a version error, not a reason to fall back.
	nb2 := threeGenerations(t)
	p = notePath(nb2, "g", "snap.2")
	data, _ = os.ReadFile(p)
	binary.LittleEndian.PutUint16(data[magicLen:], 7)
	os.WriteFile(p, data, 0o600)
	l2, _ := nb2.OpenNote("g")
	defer l2.Close()
	if _, _, _, err := l2.Load(); !errors.Is(err, ErrVersion) {
		t.Fatalf("Load with a version-7 snapshot: %v", err)
	}

	// Bad magic is corruption.
	data, _ = os.ReadFile(notePath(nb, "v", "log.0"))
	copy(data, "XXXXXX")
	os.WriteFile(notePath(nb, "v", "log.0"), data, 0o600)
	if _, _, _, err := l.Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad magic: %v", err)
	}
}

func TestPollIncompleteRecord(t *testing.T) {
	nb := newNotebook(t)
	a, _ := nb.Create("p")
	defer a.Close()
	b, _ := nb.OpenNote("p")
	defer b.Close()
	mustLoad(t, b)

	framed := appendRecord(nil, []byte("hello"))
	f, _ := os.OpenFile(notePath(nb, "p", "log.0"), os.O_WRONLY|os.O_APPEND, 0)
	defer f.Close()
	for i := 0; i < len(framed)-1; i++ {
		f.Write(framed[i : i+1])
		if got, err := b.Poll(); err != nil || len(got) != 0 {
			t.Fatalf("after %d bytes: Poll = %q, %v", i+1, got, err)
		}
	}
	f.Write(framed[len(framed)-1:])
	if got, err := b.Poll(); err != nil || !equalStrings(strs(got), []string{"hello"}) {
		t.Fatalf("Poll = %q, %v", got, err)
	}
	if got, err := b.Poll(); err != nil || len(got) != 0 {
		t.Fatalf("second Poll = %q, %v", got, err)
	}
	// a, behind, gets it as "others" on its next Append.
	if others := mustAppend(t, a, "x"); !equalStrings(others, []string{"hello"}) {
		t.Fatalf("others = %q", others)
	}
}

func TestStaleReader(t *testing.T) {
	nb := newNotebook(t)
	a, _ := nb.Create("s")
	defer a.Close()
	b, _ := nb.OpenNote("s")
	defer b.Close()
	mustLoad(t, b)
	da, db := newDoc(t, "a"), newDoc(t, "b")
	compact := func() {
		if err := a.Compact(func(u [][]byte) ([]byte, error) { da.apply(strs(u)...); return da.save(), nil }); err != nil {
			t.Fatal(err)
		}
	}
	add := func(r string) { mustAppend(t, a, r); da.apply(r) }
	// Two compactions behind: still catches up record by record.
	add("1")
	compact()
	add("2")
	compact()
	add("3")
	got, err := b.Poll()
	if err != nil {
		t.Fatal(err)
	}
	db.apply(strs(got)...)
	if string(db.save()) != "1\n2\n3" {
		t.Fatalf("b has %q", db.save())
	}
	// Three behind: ErrStale, then Load recovers.
	add("4")
	compact()
	add("5")
	compact()
	add("6")
	compact()
	add("7")
	if _, err := b.Poll(); !errors.Is(err, ErrStale) {
		t.Fatalf("Poll when 3 generations behind: %v", err)
	}
	if _, err := b.Append(recs("8")...); !errors.Is(err, ErrStale) {
		t.Fatalf("Append when 3 generations behind: %v", err)
	}
	s, r, w, err := b.Load()
	if err != nil || len(w) != 0 {
		t.Fatal(err, w)
	}
	db.load(s, r)
	if string(db.save()) != "1\n2\n3\n4\n5\n6\n7" {
		t.Fatalf("b reloaded %q", db.save())
	}
}

func TestSaveErrorRedelivers(t *testing.T) {
	nb := newNotebook(t)
	a, _ := nb.Create("r")
	defer a.Close()
	b, _ := nb.OpenNote("r")
	defer b.Close()
	mustLoad(t, b)
	mustAppend(t, a, "x", "y")
	boom := errors.New("boom")
	err := b.Compact(func(u [][]byte) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Compact: %v", err)
	}
	got, err := b.Poll()
	if err != nil || !equalStrings(strs(got), []string{"x", "y"}) {
		t.Fatalf("Poll after failed Compact = %q, %v", got, err)
	}
	if _, err := os.Stat(notePath(nb, "r", "snap.1")); !os.IsNotExist(err) {
		t.Fatalf("snap.1 after failed save: %v", err)
	}
}

func TestInterruptedCompactionLeftovers(t *testing.T) {
	nb := newNotebook(t)
	a, _ := nb.Create("i")
	defer a.Close()
	mustAppend(t, a, "x")
	// A crash after snap.1 was renamed but before log.1 existed, plus a temp.
	os.WriteFile(notePath(nb, "i", "snap.1"), encodeBlob(snapMagic, []byte("stale")), 0o600)
	os.WriteFile(notePath(nb, "i", ".tmp-123"), []byte("junk"), 0o600)
	b, _ := nb.OpenNote("i")
	defer b.Close()
	snap, got, w := mustLoad(t, b)
	if snap != "" || !equalStrings(got, []string{"x"}) || len(w) != 0 {
		t.Fatalf("Load = %q %q %v", snap, got, w)
	}
	if err := b.Compact(func(u [][]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(notePath(nb, "i", ".tmp-123")); !os.IsNotExist(err) {
		t.Error("temp file not cleaned up")
	}
	c, _ := nb.OpenNote("i")
	defer c.Close()
	if snap, _, _ := mustLoad(t, c); snap != "x" {
		t.Fatalf("snapshot %q", snap)
	}
}

// TestPollSkipsDamagedRecord: a reader that polls past a damaged record
// another process appended still gets the records after it, and a warning.
func TestPollSkipsDamagedRecord(t *testing.T) {
	nb := newNotebook(t)
	w, err := nb.Create("poll")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	mustAppend(t, w, "a", "b")
	r, _ := nb.OpenNote("poll")
	defer r.Close()
	mustLoad(t, r)
	mustAppend(t, w, "c", "d", "e")
	path := notePath(nb, "poll", "log.0")
	data, _ := os.ReadFile(path)
	start := logHeaderSize + 2*(recordHeaderSize+1) // record "c"
	data[start+recordHeaderSize] ^= 0x01
	os.WriteFile(path, data, 0o600)

	got, err := r.Poll()
	if err != nil {
		t.Fatal(err)
	}
	if !equalStrings(strs(got), []string{"d", "e"}) {
		t.Fatalf("polled %q", strs(got))
	}
	if warns := r.Warnings(); len(warns) != 1 || !errors.Is(warns[0], ErrCorrupt) {
		t.Fatalf("warnings = %v", warns)
	}
}

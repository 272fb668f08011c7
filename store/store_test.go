package store

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestResolveHome(t *testing.T) {
	t.Setenv("COLLAB_HOME", "")
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/someone")
	check := func(flag, want string) {
		t.Helper()
		got, err := ResolveHome(flag)
		if err != nil || got != want {
			t.Errorf("ResolveHome(%q) = %q, %v; want %q", flag, got, err, want)
		}
	}
	check("", "/home/someone/.local/share/collab")
	t.Setenv("XDG_DATA_HOME", "relative/ignored")
	check("", "/home/someone/.local/share/collab")
	t.Setenv("XDG_DATA_HOME", "/xdg")
	check("", "/xdg/collab")
	t.Setenv("COLLAB_HOME", "/env/home")
	check("", "/env/home")
	check("/flag/home", "/flag/home")
	wd, _ := os.Getwd()
	check("rel", filepath.Join(wd, "rel"))
}

func TestRoundTrip(t *testing.T) {
	nb := newNotebook(t)
	l, err := nb.Create("note1")
	if err != nil {
		t.Fatal(err)
	}
	if l.ID() != "note1" {
		t.Fatalf("ID = %q", l.ID())
	}
	if others := mustAppend(t, l, "a", "bb", "ccc"); len(others) != 0 {
		t.Fatalf("others = %q", others)
	}
	mustAppend(t, l, "dddd")
	if got, want := l.LogSize(), int64(4*recordHeaderSize+10); got != want {
		t.Errorf("LogSize = %d, want %d", got, want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := l.Append(recs("x")...); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}

	l2, err := nb.OpenNote("note1")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if _, err := l2.Append(recs("x")...); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("Append before Load: %v", err)
	}
	snap, got, w := mustLoad(t, l2)
	if snap != "" || !equalStrings(got, []string{"a", "bb", "ccc", "dddd"}) || len(w) != 0 {
		t.Fatalf("Load = %q %q %v", snap, got, w)
	}

	if _, err := nb.Create("note1"); !errors.Is(err, ErrExists) {
		t.Fatalf("Create existing: %v", err)
	}
	if _, err := nb.OpenNote("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenNote missing: %v", err)
	}
	for _, bad := range []string{"", "a/b", "..", "a.b", strings.Repeat("x", 201), "ü"} {
		if _, err := nb.Create(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Create(%q): %v", bad, err)
		}
	}
	if _, err := l2.Append(nil); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("empty record: %v", err)
	}
	if _, err := l2.Append(make([]byte, MaxRecordSize+1)); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("huge record: %v", err)
	}
}

func TestReopenAndCompact(t *testing.T) {
	nb := newNotebook(t)
	l, err := nb.Create("n")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d := newDoc(t, "A")
	for i := 0; i < 3; i++ {
		for j := 0; j < 5; j++ {
			r := fmt.Sprintf("g%d-r%d", i, j)
			mustAppend(t, l, r)
			d.apply(r)
		}
		if err := l.Compact(func(unseen [][]byte) ([]byte, error) {
			d.apply(strs(unseen)...)
			return d.save(), nil
		}); err != nil {
			t.Fatal(err)
		}
		if l.LogSize() != 0 {
			t.Fatalf("LogSize after Compact = %d", l.LogSize())
		}
	}
	mustAppend(t, l, "tail1", "tail2")
	d.apply("tail1", "tail2")

	// Exactly two generations remain: 2 (backup) and 3 (current).
	var names []string
	entries, _ := os.ReadDir(filepath.Join(nb.Dir(), "notes", "n"))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "lock log.2 log.3 snap.2 snap.3"; got != want {
		t.Errorf("files = %q, want %q", got, want)
	}

	l2, err := nb.OpenNote("n")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	s, r, w, err := l2.Load()
	if err != nil || len(w) != 0 {
		t.Fatal(err, w)
	}
	d2 := newDoc(t, "B")
	d2.load(s, r)
	if string(d2.save()) != string(d.save()) {
		t.Fatalf("reloaded %q, want %q", d2.save(), d.save())
	}
	if !equalStrings(strs(r), []string{"tail1", "tail2"}) {
		t.Fatalf("records after snapshot = %q", strs(r))
	}
	if p := l2.Position(); p.Gen != 3 {
		t.Errorf("Position = %+v", p)
	}
}

func TestManyRecords(t *testing.T) {
	nb := newNotebook(t)
	l, err := nb.Create("many")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var want [][]byte
	for i := 0; i < 5000; i++ {
		n := 1 + rng.Intn(300)
		if i%1000 == 999 {
			n = 1 << 20
		}
		b := make([]byte, n)
		rng.Read(b)
		want = append(want, b)
	}
	for i := 0; i < len(want); {
		k := min(1+rng.Intn(20), len(want)-i)
		if _, err := l.Append(want[i : i+k]...); err != nil {
			t.Fatal(err)
		}
		i += k
	}
	l.Close()
	l2, err := nb.OpenNote("many")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	_, got, w, err := l2.Load()
	if err != nil || len(w) != 0 {
		t.Fatal(err, w)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
}

func TestPermissions(t *testing.T) {
	base := t.TempDir()
	old := syscall.Umask(0o277) // would give 0400 files and 0500 dirs without explicit chmod
	defer syscall.Umask(old)

	nb, err := Open(filepath.Join(base, "home"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		l, err := nb.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, "x", "y")
		if err := l.Compact(func([][]byte) ([]byte, error) { return []byte("snap"), nil }); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, "z")
		// Force a corrupt tail so that a corrupt.* file gets written.
		f, _ := os.OpenFile(filepath.Join(nb.Dir(), "notes", id, "log.1"), os.O_WRONLY|os.O_APPEND, 0)
		f.Write([]byte{9, 0, 0, 0, 1, 2, 3, 4, 'b', 'a', 'd', 'b', 'a', 'd', 'b', 'a', 'd'})
		f.Close()
		mustAppend(t, l, "w")
		if err := l.WriteView(View{Title: "t"}); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	if err := nb.Trash("b"); err != nil {
		t.Fatal(err)
	}
	if err := nb.PutInvite(Invite{ID: "c", Title: "offered"}, []byte("offer")); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(old)

	var sawCorrupt bool
	err = filepath.WalkDir(nb.Dir(), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
		if strings.HasPrefix(d.Name(), "corrupt.") {
			sawCorrupt = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawCorrupt {
		t.Error("no corrupt.* file was written")
	}
}

func TestTrashRestore(t *testing.T) {
	nb := newNotebook(t)
	for _, id := range []string{"b", "a", "c"} {
		l, err := nb.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, "from-"+id)
		l.Close()
	}
	// Garbage in notes/ is ignored.
	os.Mkdir(filepath.Join(nb.Dir(), "notes", ".tmp-create-x-123"), 0o700)
	os.Mkdir(filepath.Join(nb.Dir(), "notes", "bad.name"), 0o700)
	os.WriteFile(filepath.Join(nb.Dir(), "notes", "plainfile"), nil, 0o600)
	os.WriteFile(filepath.Join(nb.Dir(), "trash", "junk"), nil, 0o600)

	ids, err := nb.NoteIDs()
	if err != nil || strings.Join(ids, ",") != "a,b,c" {
		t.Fatalf("NoteIDs = %v, %v", ids, err)
	}

	held, err := nb.OpenNote("a")
	if err != nil {
		t.Fatal(err)
	}
	mustLoad(t, held)
	if err := nb.Trash("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := held.Append(recs("late")...); !errors.Is(err, ErrNotFound) {
		t.Errorf("Append to trashed note: %v", err)
	}
	held.Close()
	if err := nb.Trash("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Trash twice: %v", err)
	}
	if _, err := nb.OpenNote("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenNote trashed: %v", err)
	}
	ids, _ = nb.NoteIDs()
	if strings.Join(ids, ",") != "b,c" {
		t.Fatalf("NoteIDs after trash = %v", ids)
	}
	tr, err := nb.Trashed()
	if err != nil || len(tr) != 1 || tr[0].ID != "a" || tr[0].TrashedAt.IsZero() {
		t.Fatalf("Trashed = %+v, %v", tr, err)
	}
	if _, err := os.Stat(filepath.Join(tr[0].Dir, "log.0")); err != nil {
		t.Fatal(err)
	}

	// A new live "a" blocks restoring the trashed one.
	l, err := nb.Create("a")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, "second-a")
	l.Close()
	if err := nb.Restore("a"); !errors.Is(err, ErrExists) {
		t.Fatalf("Restore over live note: %v", err)
	}
	if err := nb.Trash("a"); err != nil {
		t.Fatal(err)
	}
	if tr, _ := nb.Trashed(); len(tr) != 2 {
		t.Fatalf("Trashed = %+v", tr)
	}
	// Restore brings back the most recently trashed one.
	if err := nb.Restore("a"); err != nil {
		t.Fatal(err)
	}
	l, err = nb.OpenNote("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, r, _ := mustLoad(t, l); !equalStrings(r, []string{"second-a"}) {
		t.Fatalf("restored note holds %q", r)
	}
	l.Close()
	if err := nb.Restore("zzz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Restore missing: %v", err)
	}
	if err := nb.EmptyTrash(); err != nil {
		t.Fatal(err)
	}
	if tr, _ := nb.Trashed(); len(tr) != 0 {
		t.Fatalf("Trashed after EmptyTrash = %+v", tr)
	}
	if err := nb.Restore("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Restore after EmptyTrash: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(nb.Dir(), "trash"))
	if len(entries) != 0 {
		t.Errorf("trash not empty: %v", entries)
	}
}

func TestView(t *testing.T) {
	nb := newNotebook(t)
	a, err := nb.Create("v")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.ReadView(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadView without a view: %v", err)
	}
	mustAppend(t, a, "one")
	want := View{Title: "Title", Text: "Title\nbody ✓", Heads: []string{"h1", "h2"}}
	if err := a.WriteView(want); err != nil {
		t.Fatal(err)
	}
	b, err := nb.OpenNote("v")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v, current, err := b.ReadView() // works without Load
	if err != nil || !current || v.Title != want.Title || v.Text != want.Text || len(v.Heads) != 2 {
		t.Fatalf("ReadView = %+v %v %v", v, current, err)
	}
	if v.Position != a.Position() {
		t.Fatalf("view position %+v, log position %+v", v.Position, a.Position())
	}
	mustLoad(t, b)
	mustAppend(t, b, "two")
	if _, current, _ := a.ReadView(); current {
		t.Fatal("view still current after another append")
	}
	if got := mustAppend(t, a); !equalStrings(got, []string{"two"}) {
		t.Fatalf("others = %q", got)
	}
	if err := a.WriteView(want); err != nil {
		t.Fatal(err)
	}
	if _, current, _ := b.ReadView(); !current {
		t.Fatal("view not current")
	}
	if err := a.Compact(func([][]byte) ([]byte, error) { return []byte("s"), nil }); err != nil {
		t.Fatal(err)
	}
	if _, current, _ := b.ReadView(); current {
		t.Fatal("view current after compaction")
	}
	// A damaged view is ErrCorrupt.
	p := filepath.Join(nb.Dir(), "notes", "v", "view")
	data, _ := os.ReadFile(p)
	data[len(data)-2] ^= 0xff
	os.WriteFile(p, data, 0o600)
	if _, _, err := b.ReadView(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged view: %v", err)
	}
	// A view laid out otherwise than WriteView writes it (fields
	// reordered) is still read, as encoding/json reads it.
	os.WriteFile(p, encodeBlob(viewMagic, []byte(`{"Text":"x\u00e9","Title":"t","Heads":["h"],"Position":{"Gen":0,"Offset":1}}`)), 0o600)
	if v, _, err := b.ReadView(); err != nil || v.Title != "t" || v.Text != "xé" || len(v.Heads) != 1 || v.Position.Offset != 1 {
		t.Fatalf("reordered view: %+v, %v", v, err)
	}
	// A view whose text the in-place decode declines half-way (a lone
	// surrogate) is read again and decoded whole.
	os.WriteFile(p, encodeBlob(viewMagic, []byte(`{"Title":"t","Text":"abc\ud83d","Heads":null,"Position":{"Gen":0,"Offset":1}}`)), 0o600)
	if v, _, err := b.ReadView(); err != nil || v.Title != "t" || v.Text != "abc\ufffd" {
		t.Fatalf("view with a lone surrogate: %+v, %v", v, err)
	}
}

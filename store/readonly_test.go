package store

import (
	"errors"
	"maps"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// A notebook opened read-only reads everything a writer does and never
// opens a file for writing, takes an exclusive lock or changes a byte.
// Tests run as root, where permission bits stop nothing, so this checks the
// mode itself: the access mode of every descriptor it holds, and that every
// write is refused with ErrReadOnly. (cmd/collab's TestReadOnlyNotebookCommands
// runs the commands on a read-only bind mount, which stops root too.)
func TestReadOnlyNotebookNeverWrites(t *testing.T) {
	nb := newNotebook(t)
	w, err := nb.Create("ro")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	mustAppend(t, w, "a", "b")
	if err := w.Compact(func([][]byte) ([]byte, error) { return []byte("ab"), nil }); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, "c")
	if err := w.WriteView(View{Title: "ro"}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAux("state", []byte("s")); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, nb.Dir())

	ro, err := OpenReadOnly(nb.Dir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := ro.OpenNote("ro")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	snap, got, warnings := mustLoad(t, l)
	if snap != "ab" || !equalStrings(got, []string{"c"}) || len(warnings) != 0 {
		t.Fatalf("read-only load: %q %q %v", snap, got, warnings)
	}
	if v, current, err := l.ReadView(); err != nil || !current || v.Title != "ro" {
		t.Fatalf("read-only view: %+v %v %v", v, current, err)
	}
	if b, err := l.ReadAux("state"); err != nil || string(b) != "s" {
		t.Fatalf("read-only aux: %q %v", b, err)
	}
	if !maps.Equal(before, dirState(t, nb.Dir())) {
		t.Fatal("opening and loading read-only changed the notebook")
	}

	// A writer compacts meanwhile: the reader follows into the new
	// generation, again through a read-only descriptor.
	mustAppend(t, w, "d")
	if err := w.Compact(func([][]byte) ([]byte, error) { return []byte("abcd"), nil }); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, "e")
	before = dirState(t, nb.Dir())
	polled, err := l.Poll()
	if err != nil || !equalStrings(strs(polled), []string{"d", "e"}) {
		t.Fatalf("read-only poll: %q %v", strs(polled), err)
	}
	for name, f := range map[string]*os.File{"lock": l.lockF, "log": l.logF} {
		flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if flags&unix.O_ACCMODE != unix.O_RDONLY {
			t.Fatalf("read-only note holds its %s file open with flags %#o", name, flags)
		}
	}
	for what, err := range map[string]error{
		"Append":     func() error { _, err := l.Append([]byte("x")); return err }(),
		"Compact":    l.Compact(func([][]byte) ([]byte, error) { return []byte("x"), nil }),
		"WriteView":  l.WriteView(View{Title: "x"}),
		"WriteAux":   l.WriteAux("state", []byte("x")),
		"Create":     func() error { _, err := ro.Create("other"); return err }(),
		"Trash":      ro.Trash("ro"),
		"Restore":    ro.Restore("ro"),
		"EmptyTrash": ro.EmptyTrash(),
		"PutInvite":  ro.PutInvite(Invite{ID: "inv"}, []byte("offer")),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only notebook: %v, want ErrReadOnly", what, err)
		}
	}
	l.Close()
	if !maps.Equal(before, dirState(t, nb.Dir())) {
		t.Fatal("polling and refused writes changed the notebook")
	}
}

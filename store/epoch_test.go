package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// startEpoch begins epoch next of l's note with first as its document; the
// archive is "archive of" plus the records begin was handed.
func startEpoch(t *testing.T, l *NoteLog, next uint64, first string) (unseen []string) {
	t.Helper()
	err := l.StartEpoch(func(u [][]byte) ([]byte, EpochInfo, []byte, error) {
		unseen = strs(u)
		return []byte("archive of " + first), EpochInfo{Epoch: next, Heads: []string{"h"}, Root: "r"}, []byte(first), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return unseen
}

// A new epoch: its first document is the snapshot, the epoch before is
// archived, another process's next read says so (and never hands it the
// new document's records as the old one's), and a fresh Load begins in it.
func TestStartEpochArchivesAndStopsOtherReaders(t *testing.T) {
	nb, l, other := twoProcesses(t)
	mustAppend(t, l, "a", "b")
	if _, err := other.Append(recs("theirs")...); err != nil {
		t.Fatal(err)
	}
	if unseen := startEpoch(t, l, 1, "epoch1"); !slices.Equal(unseen, []string{"theirs"}) {
		t.Fatalf("begin was handed %q, want the other's record", unseen)
	}
	if info, err := l.Epoch(); err != nil || info.Epoch != 1 || info.Root != "r" {
		t.Fatalf("epoch %+v, %v", info, err)
	}
	if a, err := l.Archive(0); err != nil || string(a) != "archive of epoch1" {
		t.Fatalf("archive %q, %v", a, err)
	}
	mustAppend(t, l, "new")

	if _, err := other.Poll(); !errors.Is(err, ErrNewEpoch) {
		t.Fatalf("the other process's Poll: %v, want ErrNewEpoch", err)
	}
	if _, err := other.Append(recs("late")...); !errors.Is(err, ErrNewEpoch) {
		t.Fatalf("the other process's Append: %v, want ErrNewEpoch", err)
	}
	snap, rs, w := mustLoad(t, other)
	if snap != "epoch1" || !slices.Equal(rs, []string{"new"}) || len(w) != 0 {
		t.Fatalf("after the switch Load gives %q %q %v", snap, rs, w)
	}
	if info, _ := other.Epoch(); info.Epoch != 1 {
		t.Fatalf("the other process is in epoch %d", info.Epoch)
	}

	// Compactions within the epoch keep it; the next epoch archives this one.
	if err := l.Compact(func(u [][]byte) ([]byte, error) { return []byte("epoch1 compacted"), nil }); err != nil {
		t.Fatal(err)
	}
	if info, _ := l.Epoch(); info.Epoch != 1 {
		t.Fatalf("a compaction moved the note to epoch %d", info.Epoch)
	}
	if _, err := other.Poll(); err != nil {
		t.Fatalf("a compaction within the epoch: %v", err)
	}
	startEpoch(t, l, 2, "epoch2")
	if a, err := l.Archive(1); err != nil || string(a) != "archive of epoch2" {
		t.Fatalf("archive of epoch 1: %q, %v", a, err)
	}
	if a, err := l.Archive(0); err != nil || string(a) != "archive of epoch1" {
		t.Fatalf("archive of epoch 0 after two switches: %q, %v", a, err)
	}
	// Epoch numbers follow each other.
	err := l.StartEpoch(func([][]byte) ([]byte, EpochInfo, []byte, error) {
		return []byte("x"), EpochInfo{Epoch: 5}, []byte("y"), nil
	})
	if err == nil {
		t.Fatal("epoch 5 after epoch 2 was taken")
	}
	fresh, err := nb.OpenNote("n")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if snap, _, _ := mustLoad(t, fresh); snap != "epoch2" {
		t.Fatalf("a fresh load gives %q", snap)
	}
}

// A damaged snapshot that begins an epoch is an error: the generation
// before holds the previous epoch, whose records are not this epoch's.
func TestLoadDoesNotFallBackAcrossAnEpoch(t *testing.T) {
	nb, l, _ := twoProcesses(t)
	mustAppend(t, l, "a")
	startEpoch(t, l, 1, "epoch1")
	mustAppend(t, l, "b")
	if err := os.WriteFile(filepath.Join(nb.Dir(), "notes", "n", snapName(1)), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, err := nb.OpenNote("n")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, _, _, err := fresh.Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load: %v, want ErrCorrupt", err)
	}
}

// A marker a crashed StartEpoch left for a generation that never began
// does not make the next compaction's generation an epoch.
func TestCompactionClearsALeftoverEpochMarker(t *testing.T) {
	_, l, other := twoProcesses(t)
	mustAppend(t, l, "a")
	if err := l.markEpoch(1, &EpochInfo{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(func([][]byte) ([]byte, error) { return []byte("snap"), nil }); err != nil {
		t.Fatal(err)
	}
	if info, _ := l.Epoch(); info.Epoch != 0 {
		t.Fatalf("after the compaction the note is in epoch %d", info.Epoch)
	}
	if _, err := other.Poll(); err != nil {
		t.Fatalf("the other reader: %v", err)
	}
}

//go:build linux

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTinyTmpfs mounts a 256 KiB tmpfs on a temp dir, or skips the test
// (fails it under CI=true: CI runs as root, so the test must run there).
func mountTinyTmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "full-disk test needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700"); err != nil {
		skipOrFail(t, fmt.Sprintf("full-disk test: cannot mount a tmpfs: %v", err))
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// skipOrFail skips a test whose prerequisite is missing, but fails it under
// CI=true, where .ci/run provides every prerequisite.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(reason + " (CI=true: this test must run in CI)")
	}
	t.Skip(reason)
}

// fill writes to path until the filesystem is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			break
		}
	}
	// Fill the last partial page too.
	for {
		if _, err := f.Write(chunk[:1]); err != nil {
			break
		}
	}
}

func TestDiskFull(t *testing.T) {
	mnt := mountTinyTmpfs(t)
	nb, err := Open(filepath.Join(mnt, "home"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := nb.Create("full")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var want []string
	for i := 0; i < 20; i++ {
		r := fmt.Sprintf("record-%02d-%s", i, string(make([]byte, 100)))
		mustAppend(t, l, r)
		want = append(want, r)
	}
	logPath := notePath(nb, "full", "log.0")
	st, _ := os.Stat(logPath)
	sizeBefore := st.Size()

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)

	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(i)
	}
	_, err = l.Append(big, []byte("small"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v", err)
	}
	t.Log(err)
	if st, _ := os.Stat(logPath); st.Size() != sizeBefore {
		t.Fatalf("log is %d bytes after the failed append, was %d", st.Size(), sizeBefore)
	}
	// Compaction fails cleanly too.
	err = l.Compact(func([][]byte) ([]byte, error) { return big, nil })
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Compact on a full disk: %v", err)
	}
	if _, err := os.Stat(notePath(nb, "full", "snap.1")); !os.IsNotExist(err) {
		t.Fatalf("snap.1 after failed compaction: %v", err)
	}

	// Every earlier record still loads, in this and in a new reader.
	other, err := nb.OpenNote("full")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	snap, got, w := mustLoad(t, other)
	if snap != "" || !equalStrings(got, want) || len(w) != 0 {
		t.Fatalf("after ENOSPC: %d records, warnings %v", len(got), w)
	}

	// With space again, appending works and nothing was lost.
	os.Remove(filler)
	mustAppend(t, l, "after")
	if others := mustAppend(t, other); !equalStrings(others, []string{"after"}) {
		t.Fatalf("others = %q", others)
	}
	if err := l.Compact(func([][]byte) ([]byte, error) { return []byte("snapshot"), nil }); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(nb.Dir(), "notes", "full"))
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("leftover temp file %s", e.Name())
		}
	}
}

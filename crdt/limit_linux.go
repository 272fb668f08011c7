package crdt

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// limitMemory caps the address space at what the process maps now plus
// extra, so a document that would take gigabytes ends this process (an
// allocation failure aborts the core) instead of the user's session.
func limitMemory(extra int64) error {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return fmt.Errorf("read own size: %w", err)
	}
	pages, err := strconv.ParseInt(strings.Fields(string(statm))[0], 10, 64)
	if err != nil {
		return fmt.Errorf("read own size: %w", err)
	}
	limit := uint64(pages*int64(os.Getpagesize()) + extra)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		return fmt.Errorf("limit memory: %w", err)
	}
	return nil
}

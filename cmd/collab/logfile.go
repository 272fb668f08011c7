package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// maxLogSize is how large collab.log may grow before it is renamed to
// collab.log.1 (replacing the one before) and started afresh: peers can
// make us log (refused streams, dropped messages), so the log of a session
// left running for days must not fill the disk. Two files of 8 MiB keep
// days of ordinary use.
const maxLogSize = 8 << 20

// rotatingLog is an append-only log file that keeps itself under maxSize
// by moving the full file aside to path.1. It is a few lines rather than
// a library: the one made for this (lumberjack) starts a goroutine per
// logger that nothing stops, and here one backup by size is all we need.
type rotatingLog struct {
	mu      sync.Mutex
	path    string
	maxSize int64
	f       *os.File
	size    int64
}

// openRotatingLog opens (creating if needed) the log at path, first moving
// it aside if it is already full.
func openRotatingLog(path string, maxSize int64) (*rotatingLog, error) {
	l := &rotatingLog{path: path, maxSize: maxSize}
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.size >= maxSize {
		if err := l.rotate(); err != nil {
			l.f.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *rotatingLog) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// rotate moves the current file to path.1 and opens a new one. If the
// move fails the same file is opened again, so logging goes on.
func (l *rotatingLog) rotate() error {
	l.f.Close()
	l.f = nil
	moved := os.Rename(l.path, l.path+".1")
	if err := l.open(); err != nil {
		return errors.Join(moved, err)
	}
	if moved != nil {
		return fmt.Errorf("rotate log: %w", moved)
	}
	return nil
}

// Write appends p (one log record), moving the file aside first if p
// would take it past maxSize.
func (l *rotatingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.maxSize {
		// A failed rotation leaves some file open: logging goes on.
		if err := l.rotate(); err != nil && l.f == nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Close closes the file.
func (l *rotatingLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

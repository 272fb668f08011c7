package amformat

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error from this package wraps one of them.
// Each package declares its own sentinels (matched with errors.Is), so the
// blocks look alike across packages.
var (
	// ErrMalformed: the bytes do not follow Automerge's binary format (or
	// not its canonical form as the core writes it).
	ErrMalformed = errors.New("malformed automerge data")
	// ErrChecksum: a chunk's checksum does not match its contents.
	ErrChecksum = errors.New("automerge checksum mismatch")
	// ErrTooLarge: a count or size exceeds Limits.
	ErrTooLarge = errors.New("automerge data too large")
	// ErrUnsupported: well-formed, but not something collab accepts (a
	// version-2 sync message, an object a note may not contain, ...).
	ErrUnsupported = errors.New("unsupported automerge data")
	// ErrMissingDeps: a change depends on changes the model does not have.
	ErrMissingDeps = errors.New("change depends on unknown changes")
	// ErrDuplicateSeq: a different change already has this actor and
	// sequence number (a forgery, or an actor ID used twice).
	ErrDuplicateSeq = errors.New("duplicate actor sequence number")
	// ErrConflict: a change is inconsistent with the model (unknown object,
	// element or predecessor, op IDs that overlap ops already present).
	ErrConflict = errors.New("change does not fit the document")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrTooLarge}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConflict}, args...)...)
}

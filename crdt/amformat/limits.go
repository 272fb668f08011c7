package amformat

// Limits bound what decoding may cost. Every count in the input is checked
// against the bytes present before anything is allocated; Limits bound what
// the bytes present could still make us spend (a run-length encoded column
// can claim millions of rows in a few bytes, a deflated column can inflate a
// thousandfold).
type Limits struct {
	// MaxBytes bounds one chunk, one concatenation of chunks, or one sync
	// message as given (compressed or not).
	MaxBytes int
	// MaxInflated bounds the inflated size of one compressed change or of
	// one document's columns together.
	MaxInflated int
	// MaxChangeOps bounds the ops of one change, and of all the changes in
	// one sync message or concatenation together. A decoded op takes about
	// 200 bytes, so the default bounds one message's ops to about 200 MiB
	// (a legitimate change that big is a paste of a million characters).
	MaxChangeOps int
	// MaxDocumentOps bounds the ops of one document.
	MaxDocumentOps int
	// MaxChanges bounds the changes in one document, sync message or
	// concatenation.
	MaxChanges int
	// MaxActors bounds the actors of one document (a change references at
	// most MaxActors too).
	MaxActors int
	// MaxActorIDBytes bounds one actor ID (the core makes 16-byte IDs).
	MaxActorIDBytes int
	// MaxHashes bounds each list of hashes: deps, heads, need, last sync.
	MaxHashes int
	// MaxBloomBytes bounds one sync message's bloom filter.
	MaxBloomBytes int
}

// DefaultLimits fit the largest note collab syncs in one message (its wire
// frames are at most 64 MiB) while keeping a hostile input's cost to a few
// hundred MiB at worst.
var DefaultLimits = Limits{
	MaxBytes:        64 << 20,
	MaxInflated:     64 << 20,
	MaxChangeOps:    1 << 20,
	MaxDocumentOps:  1 << 24,
	MaxChanges:      1 << 22,
	MaxActors:       1 << 16,
	MaxActorIDBytes: 64,
	MaxHashes:       1 << 16,
	MaxBloomBytes:   16 << 20,
}

// Package store is collab's durable notebook on disk.
//
// It knows nothing about CRDTs: a note is an append-only log of opaque
// records (in practice automerge change bytes) plus, from time to time, an
// opaque snapshot (a saved automerge document) that replaces the records
// before it. Another package turns snapshot + records into a document.
//
// # Layout
//
//	<home>/
//	  notes/
//	    <id>/                 one live note (dir 0700)
//	      lock                flock(2) target; never holds data
//	      snap.<gen>          snapshot that starts generation gen (none for gen 0)
//	      log.<gen>           records appended after snap.<gen>
//	      carry.<gen>         how many records at the start of log.<gen> were
//	                          carried over from log.<gen-1> (CompactChecked)
//	      epoch.<gen>         generation gen begins a new epoch of the note (epoch.go)
//	      archive.<k>         the whole document of epoch k when epoch k+1 began
//	      view                cached title/text/heads as of a log position
//	      corrupt.<gen>.<ns>  bytes cut off a bad log tail, kept for manual recovery
//	      corrupt.<gen>.at-<offset>  a damaged run readers skipped mid-log, kept before compaction
//	      .tmp-*, .view-tmp-* temporary files (ignored, cleaned up)
//	    .tmp-create-*         a note being created (renamed into place when complete)
//	  trash/
//	    <id>.<unix-nanos>/    a trashed note, same content as above, restorable
//	  invites/                pending invitations (dir 0700, made with the first)
//	    <id>.invite           what an invitation says: title, inviter, addresses, time
//	    <id>.offer            the bytes offered with it, read only on accepting
//	    lock                  flock(2) target for changing invitations
//	  setting.<name>          a notebook-wide setting (e.g. relay), at most 1 MiB
//	  joins                   pending joins (a JSON list), at most MaxJoinsSize
//	  joins.lock              flock(2) target for changing the pending joins
//	  joins.damaged           a damaged joins file's bytes, kept when a change replaced it
//
// All directories are created 0700 and all files 0600, explicitly chmod-ed so
// the umask does not matter. Note ids are 1–200 characters of [A-Za-z0-9_-].
//
// # File formats
//
// All integers are little-endian; checksums are CRC-32C (Castagnoli).
//
//	log.<gen>:  "CLBLOG" u16 version, then records:
//	            u32 length (1..MaxRecordSize), u32 crc32c(payload), payload
//	snap.<gen>, archive.<k>, epoch.<gen>, view, aux.*, <id>.invite, <id>.offer, setting.*, joins:
//	            "CLBSNP", "CLBEPO", "CLBVEW", "CLBAUX", "CLBINV", "CLBOFR", "CLBSET" or "CLBJON", u16 version,
//	            u64 length, u32 crc32c(payload), payload
//
// The view, invitation and pending-join payloads are JSON. A file with a version this build does not know is
// reported with ErrVersion (a newer collab wrote it), never as corruption.
//
// # Why append-only logs
//
// Every edit becomes a small record appended with one write(2) and one
// fdatasync(2); nothing already acknowledged is ever rewritten in place. A
// crash or kill can therefore only leave an incomplete record at the very end
// (a torn tail). A record that is incomplete or whose length or checksum is
// wrong is skipped when a valid record follows it (damage, e.g. a flipped bit:
// the records after it are still read, the damaged run is reported as a
// warning, and Compact copies it to corrupt.<gen>.at-<offset> before the log
// is superseded); the search for the next record is bounded by one record's
// reach and a checksum budget. With no valid record after it, a bad record is
// the tail: readers stop there and the next writer truncates the tail back to
// the last valid record (a copy of the cut bytes is kept as corrupt.<gen>.<ns> unless
// they are just a partial record header: a torn record and a damaged length
// field look alike, so nothing is discarded without a copy). A record that was acknowledged was fsynced
// before the writer released the lock, so a torn tail is always a write nobody
// was told had succeeded. On a write or fsync error (ENOSPC, EIO) the writer
// truncates back to the previous end and returns the error, so earlier data is
// never harmed.
//
// # Read-only notebooks
//
// OpenReadOnly serves the commands that only read (cat, ls, log, export,
// search) where the user may only read the notebook. It creates, chmods and
// cleans up nothing; notes open their logs and lock files O_RDONLY and take
// only shared locks (flock works through a read-only descriptor), and every
// write fails with ErrReadOnly.
//
// # Why flock
//
// Several collab processes (an editor, `collab ls`, a second editor window)
// may use one notebook at the same time. Writers (Append, Compact) hold an
// exclusive flock(2) on the note's lock file while they append or compact, and
// fsync before unlocking. Load takes a shared lock, so it never sees a write in
// progress. Poll tries a shared lock without blocking and, if a writer holds
// the lock, simply reports nothing new yet; so a reader can never consume
// bytes that a failing writer later truncates away. flock locks belong to an
// open file description, so two NoteLogs of one process also exclude each
// other; within one NoteLog a mutex serialises goroutines.
//
// Before appending, a writer first reads what other processes appended since
// its own position and returns those records to the caller, so every process
// sees every record exactly once, in log order.
//
// # Why generations
//
// An automerge history grows without bound and replaying it is slow, so the
// log is periodically compacted: under the exclusive lock the caller's full
// document is saved as snap.<G+1> (temp file, fsync, rename, fsync dir), an
// empty log.<G+1> is created the same way, and only then are the files of
// generations older than G removed. Generation G (snapshot and log) stays as
// a backup: if snap.<G+1> turns out to be unreadable, Load falls back to
// snap.<G> + log.<G> + log.<G+1>, which contain the same records, and reports
// a warning. Only if that fails too does Load return an error, and then it
// has modified nothing on disk.
//
// CompactChecked takes the lock twice: once to save the document (its
// snapshot covers log.<G> up to a position P), and again, after the caller
// has checked the snapshot with the lock released, to write snap.<G+1> and
// a log.<G+1> that starts with the records appended to log.<G> after P.
// carry.<G+1>, written before log.<G+1> exists, says how many: readers that
// move over from log.<G> (where they read them) and Load's fallback to
// generation G skip them, so every record is still seen once.
//
// The current generation is the highest G for which log.<G> exists (a
// snapshot without its log is the leftover of an interrupted compaction and is
// ignored). A reader keeps its log file descriptor open. When log.<G+1>
// appears, log.<G> is immutable (it was compacted under the lock), so the
// reader reads log.<G> to its end and continues with log.<G+1> from its
// beginning (after any carried records): snap.<G+1> contains nothing it has not already read, provided
// callers append every change before it becomes part of a snapshot. A reader
// that falls behind by more than one backup generation gets ErrStale and must
// Load again.
//
// The package starts no goroutines.
package store

// Package crdt is the note document: one Automerge document per note holding
// its title and its body as Automerge Text, edited in rune offsets.
//
// The document layout is the one JavaScript editors on Automerge use, so the
// ecosystem can open our notes: the root map holds "text" (Text, the body) and
// "title" (a plain string; the last rename wins).
//
// # The core runs in a worker process
//
// automerge-go links an Automerge core built to abort the process on any
// panic, and malformed bytes from a peer or a file reach such panics. So the
// process that holds the user's notes never calls the core: every Note owns
// a worker, a child process (this same executable, which crdt's init turns
// into a worker when COLLAB_CRDT_WORKER is set) that holds that one document
// and its sync states and answers one request at a time over pipes
// (wire.go: length-prefixed CBOR frames; core.go: the worker side).
//
// A worker's death (an abort, its memory limit, a request past its deadline,
// a kill from outside) is an ordinary event. The Note keeps what rebuilds the
// document exactly: the base it was loaded from (snapshot and records), every
// change applied or committed since (until Snapshot makes a verified new
// base), and a journal of local edits not yet committed, so typing is never
// lost. Requests are serialised, so the request that killed a worker is
// known. If it carried untrusted bytes (Apply, ReceiveSyncMessage, Merge,
// Load, LoadSyncState) and kills a fresh worker too, the input is dropped
// and the call fails with an error wrapping ErrRejected, carrying the core's
// panic text (*DeathError). If a trusted request dies twice, something
// accepted earlier is poisonous: the note rebuilds from prefixes of its
// changes to find the one it dies on, sets it aside (SetAside, or a
// *Rejected warning from Load) and continues without it. See recover.go.
//
// Keystrokes cost no round trip: Splice and SetTitle are checked against the
// cached length and journalled, and travel with the next request. Title,
// Len and HasBody answer from what every response reads back.
// An insert larger than MaxChangeRunes is committed as several changes, so
// no peer refuses one as too large and no one transaction exhausts the
// worker; open edits a worker dies on however it is rebuilt are dropped
// (ErrEditsDropped), never blamed on stored changes.
//
// Editing without the core (ingo.go): a note with no worker running is
// edited and merged in Go. Its text model (amformat.Model, built once from
// the stored history, in what the text costs) makes the change a commit
// needs and integrates changes from elsewhere; the bytes join the rebuild
// recipe as the worker's own would. WakeForEdit readies a sleeping note so,
// and the core loads only for what needs it (a sync round, the history,
// saving, a title change, a change the model does not take); Rest ends
// the worker of a note in use and keeps the model, which followed it. A document
// from elsewhere is checked against its stated heads before edits are
// made on it in Go (CheckHistory), since those heads become their deps.
//
// Collisions: a change whose actor and sequence number the note already
// holds under a different hash is refused by the core ("duplicate seq");
// Apply and ReceiveSyncMessage turn that into a *CollisionError (it wraps
// ErrCollision, not ErrRejected: nothing about the bytes is bad, and the
// sender may be the honest copy). When the actor is one of the note's own
// (this session's or one passed to AddOwnActors), Reissue gives way to the
// other change and makes our edits again as one change under a fresh
// actor, setting the originals aside; it refuses (ErrHeldElsewhere) when
// peers already hold the changes it would drop. See reissue.go.
//
// A stranger's offer (an invitation) is read in Go (OfferedNote: its title
// and whether it is whole, from the changes' root ops), so its bytes reach
// no core before the user accepts; only a title written as Text needs a
// scratch document. Scratch documents for strangers' bytes (NewScratch) run under tighter
// limits, and only a few at once. Workers die with their parent (Pdeathsig,
// and EOF on their requests), sit in their own process group, and end when
// their Note is closed or garbage.
package crdt

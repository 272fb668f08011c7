package notebook

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// A note remembers the actor IDs its own edits were made under (side file
// "actors", newest last): the document takes a fresh actor each time it is
// loaded, and a collision on an actor of an earlier session is still ours
// to recover from (crdt.Note.Reissue).

// maxRememberedActors bounds the side file: the actors of the last few
// hundred sessions that made an edit.
const maxRememberedActors = 256

// ownActors reads the actors file; a missing or damaged one is none.
func ownActors(log *store.NoteLog) []string {
	b, err := log.ReadAux("actors")
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range strings.Fields(string(b)) {
		if len(a) <= 64 && len(out) < maxRememberedActors {
			out = append(out, a)
		}
	}
	return out
}

// rememberActorLocked records the document's current actor once it has
// made a change. A lost update (two processes at once) costs only the
// automatic recovery from a collision on that session's actor.
func (n *Note) rememberActorLocked() {
	actor := n.doc.Actor()
	if actor == n.actorSaved || n.nb.readOnly {
		return
	}
	actors := ownActors(n.log)
	if !slices.Contains(actors, actor) {
		actors = append(actors, actor)
	}
	if len(actors) > maxRememberedActors {
		actors = actors[len(actors)-maxRememberedActors:]
	}
	if err := n.log.WriteAux("actors", []byte(strings.Join(actors, "\n"))); err != nil {
		return // tried again with the next commit
	}
	n.actorSaved = actor
}

// Reissue recovers from a change of a peer that collides with one of this
// note's own (a *crdt.CollisionError with Own set): the note gives way to
// theirs and makes its own edits again under a fresh actor (see
// crdt.Note.Reissue). The dropped changes are kept beside the log
// (aux.rejected.<hash>) and the log is compacted without them; the edits
// made again are stored and reach subscribers like any local change.
// held are the heads peers stated (see crdt.Note.Reissue).
func (n *Note) Reissue(peer string, theirs []byte, held []crdt.ChangeHash) (crdt.ReissueResult, error) {
	var res crdt.ReissueResult
	err := n.step(func() error {
		if _, err := n.commitLocked(); err != nil {
			return err
		}
		var err error
		if res, err = n.doc.Reissue(theirs, held); err != nil || res.Dropped == 0 {
			return err
		}
		n.receivedLocked(peer, [][]byte{theirs})
		_, err = n.commitLocked()
		return err
	})
	if err != nil {
		return res, fmt.Errorf("recover note %s from a collision: %w", n.ID, err)
	}
	return res, n.persist()
}

// IsOwnCollision reports whether err is a collision this note can recover
// from with Reissue, and the change to give way to.
func IsOwnCollision(err error) (theirs []byte, ok bool) {
	var ce *crdt.CollisionError
	if errors.As(err, &ce) && ce.Own && ce.Theirs != nil {
		return ce.Theirs, true
	}
	return nil, false
}

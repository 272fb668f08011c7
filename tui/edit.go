package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/crdt/splice"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/tui/editor"
)

// maxEarly bounds the keys kept while a note loads.
const maxEarly = 4096

// frame is the shortest time between two re-reads of the note for remote
// changes: at most one per frame.
const frame = time.Second / 60

// session is an open note on the editor screen.
type session struct {
	id    crdt.DocumentID
	gen   int
	title string
	net   Network
	nb    *notebook.Notebook

	note    *notebook.Note // nil while loading
	owned   bool           // opened by the app (offline): it runs and closes it
	loadErr error
	noBody  bool // joined, text not arrived yet
	loading bool

	ed   *editor.Model
	find *findBar
	// rev is the revision of the note's text the editor shows. Keystrokes
	// go to the note as edits made at rev, which the note rebases past
	// anything merged since; remote changes come as the splices from rev
	// to the note's current revision.
	rev crdt.Rev
	// The find bar's last query and replacement, offered when it reopens.
	lastFind, lastReplace string

	// Remote changes: the subscriber sets dirty and wakes the waiter, which
	// delivers remoteMsg to the loop; the loop applies the splices since
	// rev (at most once per frame).
	dirty    atomic.Bool
	wake     chan struct{}
	done     chan struct{}
	lastRead atomic.Int64 // unix nanos of the last re-read
	unsub    func()

	cancelRun context.CancelFunc
	runDone   chan error
	runErr    error

	saved bool
	// status is the sync status shown; syncingSince when it began syncing.
	status       SyncStatus
	syncingSince time.Time
	// people are the note's peers as last read with the status (drawing
	// asks nothing of the network).
	people     []Peer
	sentCursor [2]int
	early      []tea.Msg // keys typed while loading, when the cached text was not current
	// viewText is the cached text shown while loading, when it covered
	// every change on disk: keys typed then are shown at once, and their
	// splices (on viewText) go to the note once it has loaded.
	viewText   *string
	earlyEdits []editor.Splice
	afterLoad  func() tea.Cmd // close or quit asked for while loading
	w, h       int
	closed     bool
}

type (
	noteLoadedMsg struct {
		s        *session
		note     *notebook.Note
		text     string
		rev      crdt.Rev
		title    string
		noBody   bool
		warnings []error
		err      error
	}
	remoteMsg     struct{ s *session }
	noteClosedMsg struct{ err error }
	runStoppedMsg struct {
		s   *session
		err error
	}
)

// openNote shows the note's cached text at once, where the editor last
// left it, and loads the note in a command; noteLoadedMsg switches to the
// live note.
func (a *App) openNote(id crdt.DocumentID) tea.Cmd { return a.openNoteAt(id, nil) }

// matchAt is a place to open a note at: a search match to select.
type matchAt struct{ pos, length int }

// openNoteAt is openNote selecting at instead of the remembered place.
func (a *App) openNoteAt(id crdt.DocumentID, at *matchAt) tea.Cmd {
	var closeOld tea.Cmd
	if a.sess != nil {
		old := a.sess
		a.sess = nil
		closeOld = func() tea.Msg { return errOrNil(old.close()) }
	}
	a.gen++
	s := &session{
		id: id, gen: a.gen, net: a.net, owned: a.net == nil, loading: true, saved: true,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		ed: a.newEditor(editor.WithMarkdown(true)),
	}
	s.sentCursor = [2]int{-1, -1}
	s.nb = a.nb
	s.ed.Blur()
	if v, current, err := a.nb.PeekView(id); err == nil {
		s.title = v.Title
		s.ed.SetText(v.Text)
		if current {
			// Editable at once: the note, once loaded, holds this text
			// (or the edits are rebased onto what arrived meanwhile).
			s.viewText = &v.Text
			s.ed.Focus()
		}
	}
	a.sess = s
	a.hist = nil
	a.screen = screenEditor
	s.layout(a.w, a.h)
	switch st, ok := a.nb.EditorState(id); {
	case at != nil:
		s.ed.Select(at.pos, at.pos+at.length)
	case ok:
		s.ed.ShowAt(st.Place([]rune(s.ed.Text())), st.Row)
	}
	nb, net := a.nb, a.net
	load := func() tea.Msg {
		m := noteLoadedMsg{s: s}
		var n *notebook.Note
		var err error
		if net != nil {
			n, err = net.Open(id)
		} else {
			// Unloaded: typing is committed in Go on the text model
			// (crdt's ingo.go); the core loads only if something needs it.
			n, m.warnings, err = nb.OpenNoteUnloaded(id)
		}
		if err != nil {
			m.err = err
			return m
		}
		select {
		case <-s.done: // closed while loading
			if s.owned {
				n.Close()
			}
			return nil
		default:
		}
		if err := n.ReadyForEdit(); err != nil {
			m.err = err
			if s.owned {
				n.Close()
			}
			return m
		}
		m.note = n
		m.title = n.Title()
		if !n.HasBody() {
			m.noBody = true
			return m
		}
		m.text, m.rev, m.err = n.ReadText()
		return m
	}
	return tea.Batch(closeOld, load)
}

func errOrNil(err error) tea.Msg {
	if err != nil {
		return errMsg{err}
	}
	return nil
}

func (a *App) onNoteLoaded(m noteLoadedMsg) tea.Cmd {
	s := m.s
	if s != a.sess {
		// Left before it loaded.
		if m.note != nil && s.owned {
			return func() tea.Msg { return errOrNil(m.note.Close()) }
		}
		return nil
	}
	s.loading = false
	for _, w := range m.warnings {
		a.showErr(fmt.Errorf("note repaired: %w", w))
	}
	if m.err != nil {
		s.loadErr = m.err
		if m.note != nil && s.owned {
			m.note.Close()
		}
		a.showErr(fmt.Errorf("can't open the note: %w", m.err))
		s.early, s.earlyEdits = nil, nil
		if s.afterLoad != nil {
			return s.afterLoad()
		}
		return nil
	}
	s.note = m.note
	s.title = m.title
	s.noBody = m.noBody
	early := s.earlyEdits
	s.earlyEdits = nil
	viewText := s.viewText
	s.viewText = nil // the note's text replaces it: not kept twice
	switch {
	case !m.noBody && len(early) > 0:
		// The editor shows the cached text with what was typed on it. What
		// the note holds beyond the cached text is shown as a remote
		// change, and the typing goes to the note rebased past it.
		arrived := splice.Diff(*viewText, m.text)
		typed, shown := splice.Transform(early, arrived, false)
		if err := s.ed.ApplyRemote(shown); err != nil {
			s.ed.SetTextFromRemote(m.text)
			typed = nil
			a.showErr(fmt.Errorf("keys typed while the note loaded were not kept: %w", err))
		}
		s.rev = m.rev
		s.ed.Focus()
		if len(typed) > 0 {
			s.applyLocal(a, typed)
		}
	case !m.noBody:
		// The editor showed the cached view while loading; the note's text
		// replaces it as a remote change would, so a scroll made meanwhile
		// stays on its text.
		s.ed.SetTextFromRemote(m.text)
		s.rev = m.rev
		s.ed.Focus()
	}
	notice := func() {
		s.dirty.Store(true)
		s.wakeUp()
	}
	delay := a.opts.NoticeDelay
	s.unsub = s.note.Subscribe(func(u notebook.Update) {
		switch {
		case u.Origin == notebook.FromLocal:
			s.wakeUp()
		case delay != nil:
			time.AfterFunc(delay(), notice)
		default:
			notice()
		}
	})
	// A change that landed between reading the text and subscribing.
	s.dirty.Store(true)
	s.wakeUp()
	var cmds []tea.Cmd
	if s.owned {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancelRun, s.runDone = cancel, make(chan error, 1)
		note, policy := s.note, a.opts.Policy
		go func() {
			defer func() {
				if r := recover(); r != nil {
					s.runDone <- fmt.Errorf("note runner crashed: %v", r)
				}
			}()
			s.runDone <- note.Run(ctx, policy)
		}()
		cmds = append(cmds, s.watchRun())
	}
	s.refreshPresence(a)
	s.refreshStatus()
	earlyKeys := s.early
	s.early = nil
	for _, msg := range earlyKeys {
		cmds = append(cmds, s.editorInput(a, msg))
	}
	s.sendCursor()
	cmds = append(cmds, s.wait())
	if s.afterLoad != nil {
		cmds = append(cmds, s.afterLoad())
	}
	return tea.Batch(cmds...)
}

// watchRun reports Note.Run stopping early (a disk error): the app shows it.
func (s *session) watchRun() tea.Cmd {
	done, stop := s.runDone, s.done
	return func() tea.Msg {
		select {
		case err := <-done:
			done <- err // close() reads it again
			if err != nil {
				return runStoppedMsg{s, err}
			}
			return nil
		case <-stop:
			return nil
		}
	}
}

func (s *session) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// wait blocks until the note changed, then (no sooner than a frame after
// the last re-read) asks the loop to re-read it.
func (s *session) wait() tea.Cmd {
	return func() tea.Msg {
		select {
		case <-s.wake:
		case <-s.done:
			return nil
		}
		if d := time.Until(time.Unix(0, s.lastRead.Load()).Add(frame)); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-s.done:
				return nil
			}
		}
		return remoteMsg{s: s}
	}
}

// syncRemote applies what changed in the note since the editor last saw
// it: the splices from the editor's revision to the note's, so only the
// changed stretches move (never a re-read of the whole text, unless the
// editor fell further behind than the note remembers).
func (s *session) syncRemote(a *App) {
	s.refreshSaved()
	s.refreshStatus()
	if s.note == nil || !s.dirty.Swap(false) {
		return
	}
	s.lastRead.Store(time.Now().UnixNano())
	s.title = s.note.Title()
	if !s.note.HasBody() {
		return
	}
	if s.noBody {
		text, rev, err := s.note.ReadText()
		if err != nil {
			a.showErr(err)
			return
		}
		s.noBody = false
		s.ed.SetText(text)
		s.rev = rev
		s.ed.Focus()
		a.showFlash("The note's text arrived")
	} else {
		s.catchUp(a)
	}
	s.refreshPresence(a)
	s.sendCursor()
}

// catchUp applies the note's changes since the editor's revision.
func (s *session) catchUp(a *App) {
	splices, rev, err := s.note.TextSince(s.rev)
	if err == nil {
		err = s.ed.ApplyRemote(splices)
	}
	if err != nil {
		// Too far behind (or a bug): show the note's text as it is.
		text, r, rerr := s.note.ReadText()
		if rerr != nil {
			a.showErr(rerr)
			return
		}
		s.ed.SetTextFromRemote(text)
		rev = r
	}
	s.rev = rev
}

// refreshSaved re-reads whether every edit is committed.
func (s *session) refreshSaved() {
	if s.note == nil {
		return
	}
	s.saved = s.note.Saved()
}

// refreshPresence draws the other people's cursors.
func (s *session) refreshPresence(a *App) {
	if s.net == nil {
		return
	}
	ps := s.net.Presence(s.id)
	peers := make([]editor.PeerCursor, 0, len(ps))
	for _, p := range ps {
		pc := editor.PeerCursor{ID: p.Peer, Name: display.Name(p.Name, p.Peer), Cursor: p.Cursor, Anchor: p.Anchor}
		color := p.Color
		if color == "" { // automerge-repo apps send no colour
			color = ColorFor(p.Peer)
		}
		pc.Color = lipgloss.Color(color)
		peers = append(peers, pc)
	}
	s.ed.SetPeers(peers)
}

// sendCursor tells peers where the cursor is, when it moved.
func (s *session) sendCursor() {
	if s.net == nil || s.note == nil {
		return
	}
	c := s.ed.CursorPos()
	anchor := c
	if start, end, ok := s.ed.Selection(); ok {
		if c == end {
			anchor = start
		} else {
			anchor = end
		}
	}
	if s.sentCursor != [2]int{c, anchor} {
		s.sentCursor = [2]int{c, anchor}
		s.net.SetCursor(s.id, c, anchor, s.ed.Slice(c-PresenceContext, c), s.ed.Slice(c, c+PresenceContext))
	}
}

// typedWhileLoading reports keys typed before the note loaded that it
// does not hold yet.
func (s *session) typedWhileLoading() bool { return len(s.early) > 0 || len(s.earlyEdits) > 0 }

// editorInput passes keys, pastes and mouse events to the editor and the
// edits it makes to the note.
func (s *session) editorInput(a *App, msg tea.Msg) tea.Cmd {
	if s.loading && s.viewText != nil {
		// Typed on the cached text: shown now, stored once loaded.
		switch msg.(type) {
		case tea.KeyPressMsg, tea.PasteMsg, tea.MouseWheelMsg:
			splices, cmd := s.ed.Update(msg)
			s.earlyEdits = append(s.earlyEdits, splices...)
			return cmd
		}
	}
	if s.loading {
		// Typed before the note loaded: kept and replayed once it has.
		switch msg.(type) {
		case tea.KeyPressMsg, tea.PasteMsg:
			if len(s.early) < maxEarly {
				s.early = append(s.early, msg)
			}
			return nil
		}
	}
	if s.note == nil || s.noBody {
		if _, ok := msg.(tea.KeyPressMsg); ok && s.noBody {
			a.showFlash("Waiting for the note's text from peers…")
		}
		if _, ok := msg.(tea.MouseWheelMsg); ok {
			s.ed.Update(msg)
		}
		return nil
	}
	var cmd tea.Cmd
	s.userEdit(a, func() []editor.Splice {
		splices, c := s.ed.Update(msg)
		cmd = c
		return splices
	})
	return cmd
}

// userEdit runs an edit of the user's (a key, a paste, find's replace):
// edit changes the editor and returns its splices, which go to the note.
func (s *session) userEdit(a *App, edit func() []editor.Splice) {
	if s.note == nil || s.noBody {
		return
	}
	// A remote change not shown yet: apply it first, so what the user
	// types is computed on the text the note has now (Edit would rebase it
	// anyway; this keeps the screen and the keystroke in step).
	if s.dirty.Load() {
		s.syncRemote(a)
	}
	if splices := edit(); len(splices) > 0 {
		s.applyLocal(a, splices)
	}
	s.sendCursor()
}

// applyLocal hands the editor's splices, made on the text at s.rev, to the
// note. The note rebases them past anything merged meanwhile and says what
// the editor must apply to show the note's text.
func (s *session) applyLocal(a *App, splices []editor.Splice) {
	res, err := s.note.Edit(s.rev, splices)
	if err != nil {
		a.showErr(fmt.Errorf("edit not applied: %w", err))
		s.dirty.Store(true)
		s.rev = 0 // forces a full re-read: the editor shows text the note lacks
		text, rev, rerr := s.note.ReadText()
		if rerr == nil {
			s.ed.SetTextFromRemote(text)
			s.rev = rev
		}
		return
	}
	if len(res.Remote) > 0 {
		if err := s.ed.ApplyRemote(res.Remote); err != nil {
			a.showErr(fmt.Errorf("showing a collaborator's change: %w", err))
		}
	}
	s.rev = res.Rev
	s.saved = false
}

// editorKey handles the editor screen's keys.
func (a *App) editorKey(msg tea.KeyPressMsg) tea.Cmd {
	s := a.sess
	if s.find != nil {
		return a.findKey(msg)
	}
	k := editKeys
	switch {
	case key.Matches(msg, k.Close) && a.opts.Open != nil:
		return a.requestQuit() // opened directly: closing quits
	case key.Matches(msg, k.Close):
		return a.closeNote()
	case key.Matches(msg, k.Quit) && !s.ed.HasSelection():
		return a.requestQuit()
	case key.Matches(msg, k.Help):
		a.help = &helpState{}
		return nil
	case key.Matches(msg, k.Find):
		s.openFind(a)
		return nil
	case key.Matches(msg, k.Invite):
		return a.openInvite()
	case key.Matches(msg, k.History):
		if s.note == nil || s.noBody {
			a.showFlash("History is there once the note has loaded")
			return nil
		}
		return a.openHistory()
	case key.Matches(msg, k.Follow):
		a.followNext()
		return nil
	case key.Matches(msg, k.People):
		a.dlg = &peopleDialog{}
		return nil
	}
	return s.editorInput(a, msg)
}

// followNext follows the next person in the note, or stops following.
func (a *App) followNext() {
	s := a.sess
	peers := s.ed.Peers()
	if len(peers) == 0 {
		s.ed.Follow("")
		a.showFlash("Nobody else is in this note")
		return
	}
	cur := s.ed.Following()
	next := 0
	if cur != "" {
		next = -1
		for i, p := range peers {
			if p.ID == cur {
				next = i + 1
			}
		}
		if next >= len(peers) {
			s.ed.Follow("")
			a.showFlash("Stopped following")
			return
		}
		if next < 0 {
			next = 0
		}
	}
	s.ed.Follow(peers[next].ID)
	a.showFlash("Following " + peers[next].Name + " (ctrl+t: next, any move stops)")
}

// closeNote goes back to the list (or quits when opened directly).
func (a *App) closeNote() tea.Cmd {
	if a.opts.Open != nil {
		return a.quit()
	}
	s := a.sess
	if s.loading && s.typedWhileLoading() {
		// Keys typed while loading are stored first.
		s.afterLoad = a.closeNote
		return nil
	}
	a.sess = nil
	a.hist = nil
	a.screen = screenList
	a.list.selectID(s.id)
	return s.closeCmd()
}

func (s *session) closeCmd() tea.Cmd {
	return func() tea.Msg { return noteClosedMsg{err: s.close()} }
}

// close stops listening, stores every edit and (offline) closes the note.
func (s *session) close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	if s.unsub != nil {
		s.unsub()
	}
	if s.net != nil && s.note != nil {
		s.net.ClearCursor(s.id) // peers stop showing this user's cursor
	}
	s.saveEditorState()
	if s.note == nil {
		return nil
	}
	if !s.owned {
		_, err := s.note.Flush()
		return err
	}
	var err error
	if s.cancelRun != nil {
		s.cancelRun()
		err = <-s.runDone
	}
	return errors.Join(err, s.note.Close())
}

// saveEditorState remembers where the cursor and the view are, for the
// next time this note opens on this device.
func (s *session) saveEditorState() {
	if s.nb == nil || s.loading || s.loadErr != nil || s.noBody {
		return
	}
	c := s.ed.CursorPos()
	_, row, ok := s.ed.CursorXY()
	if !ok {
		row = 0
	}
	_ = s.nb.SaveEditorState(s.id, notebook.EditorState{
		Cursor: c, Row: row,
		Before: s.ed.Slice(c-notebook.EditorContext, c),
		After:  s.ed.Slice(c, c+notebook.EditorContext),
	})
}

// layout: status bar, editor, footer.
func (s *session) layout(w, h int) {
	s.w, s.h = w, h
	bottom := 1
	if s.find != nil {
		bottom = s.find.rows()
	}
	s.ed.SetSize(max(1, w), max(1, h-1-bottom))
	s.ed.SetOrigin(0, 1)
}

func (s *session) displayTitle() string { return display.Title(s.title) }

func (s *session) cursor() *tea.Cursor {
	if s.find != nil {
		return s.find.cursor(s.h - 1)
	}
	return s.ed.Cursor()
}

// syncingShownAfter: a note becomes "syncing" on screen only once it has
// been syncing this long, so typing (each keystroke is out of sync for the
// milliseconds it takes to reach the others) does not flicker the status.
const syncingShownAfter = 500 * time.Millisecond

// refreshStatus re-reads the note's sync status for the status bar;
// called on ticks and network events, not while drawing.
func (s *session) refreshStatus() {
	if s.net == nil {
		return
	}
	s.people = s.net.Peers(s.id)
	st := s.net.Status(s.id)
	if st != Syncing {
		s.status, s.syncingSince = st, time.Time{}
		return
	}
	if s.syncingSince.IsZero() {
		s.syncingSince = time.Now()
	}
	if s.status != InSync || time.Since(s.syncingSince) >= syncingShownAfter {
		s.status = Syncing
	}
}

// statusParts are the status bar's right-hand items; why is the index of
// the one saying why someone cannot be reached (-1: none), whyShort its
// short form ("✗ can't reach ann") for a bar too narrow for the reason.
func (s *session) statusParts(a *App) (parts []string, why int, whyShort string) {
	why = -1
	var away, diverged, problems, problemNames []string
	if s.net != nil {
		// ● people with the note open, ○ people only online (connected
		// for it: collab serve, or an editor on another note).
		// Each connected one with how it is reached: "ann direct", "bob
		// via rita" (the people dialog has the full words).
		var here, online []string
		for _, p := range s.people {
			name := display.Name(p.Name, p.ID)
			if p.Diverged != "" {
				diverged = append(diverged, name)
			}
			how := name
			if sp := shortPath(p.Path); sp != "" {
				how += " " + sp
			}
			switch {
			case p.InNote:
				here = append(here, how)
			case p.Connected:
				online = append(online, how)
			default:
				away = append(away, name)
				if p.Problem != "" {
					problems = append(problems, display.Line(p.Problem))
					problemNames = append(problemNames, name)
				}
			}
		}
		if len(here) > 0 {
			parts = append(parts, "● "+strings.Join(here, ", "))
		}
		if len(online) > 0 {
			parts = append(parts, "○ "+strings.Join(online, ", "))
		}
	}
	if f := s.ed.Following(); f != "" {
		for _, p := range s.ed.Peers() {
			if p.ID == f {
				parts = append(parts, "following "+p.Name)
			}
		}
	}
	switch {
	case s.net == nil:
		parts = append(parts, "offline")
	default:
		st := s.status
		mark := map[SyncStatus]string{InSync: "✓ ", Syncing: "↻ ", Unreachable: "✗ ", Diverged: "⚠ ", Offline: ""}[st]
		switch {
		case st == Unreachable && len(away) == 1 && len(problems) == 1:
			// The reason names the person: "ann is behind a NAT and no
			// relay you both know is online: …" (cut to fit by view).
			why, whyShort = len(parts), mark+cantReach(away)
			parts = append(parts, mark+problems[0])
		case st == Unreachable && len(away) > 0:
			parts = append(parts, mark+cantReach(away))
		case st == Diverged && len(diverged) > 0:
			// Never silent: whose copy cannot match ours (`collab peers`
			// says why).
			parts = append(parts, mark+"diverged from "+strings.Join(diverged, ", "))
		default:
			parts = append(parts, mark+st.String())
		}
		// Someone else cannot be reached while these sync: said too.
		switch {
		case st == Unreachable:
		case len(problems) == 1:
			why, whyShort = len(parts), "✗ "+cantReach(problemNames)
			parts = append(parts, "✗ "+problems[0])
		case len(problems) > 1:
			parts = append(parts, "✗ "+cantReach(problemNames))
		}
	}
	switch {
	case s.loading:
		parts = append(parts, "loading…")
	case s.loadErr != nil:
		parts = append(parts, "not loaded")
	case s.noBody:
		parts = append(parts, "waiting for text")
	case s.runErr != nil:
		parts = append(parts, "NOT SAVED")
	case s.saved:
		parts = append(parts, "saved")
	default:
		parts = append(parts, "saving…")
	}
	return parts, why, whyShort
}

// statusRight is the status bar's right-hand side. When it is too wide,
// the reason why someone cannot be reached (in full in the people dialog)
// is cut first, or said short, so the rest still shows.
func (s *session) statusRight(a *App) string {
	parts, why, whyShort := s.statusParts(a)
	join := func() string { return " " + strings.Join(parts, " · ") + " " }
	room := a.w - min(ansi.StringWidth(s.displayTitle())+1, max(10, a.w/3))
	if over := ansi.StringWidth(join()) - room; over > 0 && why >= 0 {
		if w := ansi.StringWidth(parts[why]) - over; w >= minReasonWidth {
			parts[why] = ansi.Truncate(parts[why], w, "…")
		} else {
			parts[why] = whyShort
		}
	}
	return join()
}

// minReasonWidth is the least of a reason the status bar shows cut; with
// less room it names whom it cannot reach instead.
const minReasonWidth = 24

func (s *session) view(a *App) string {
	top := a.bar(" "+s.displayTitle(), s.statusRight(a))
	var body string
	switch {
	case s.noBody && !s.loading:
		body = fitLines([]string{"", a.st.dim.Render(ansi.Wordwrap(" Waiting for the note's text from peers… It appears here as soon as one of them is reachable.", s.w, ""))}, s.ed.Height())
	case s.loadErr != nil && s.ed.Len() == 0:
		body = fitLines([]string{"", a.st.err.Render(ansi.Wordwrap(" Can't open this note: "+s.loadErr.Error(), s.w, ""))}, s.ed.Height())
	default:
		body = s.ed.View()
	}
	var bottom string
	if s.find != nil {
		bottom = s.find.view(a)
	} else {
		bottom = a.footer("^Q", "close", "^F", "find", "^S", "share", "^R", "history", "^T", "follow", "F1", "keys", "^O", "people")
	}
	return top + "\n" + body + "\n" + bottom
}

package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/tui/editor"
)

// Options configure the app.
type Options struct {
	// Network is the sync engine; nil runs offline.
	Network Network
	// Open, when set, opens this note at start (`collab edit NOTE`); closing
	// it then quits instead of showing the list.
	Open *crdt.DocumentID
	// NoColor draws with attributes only (the NO_COLOR convention).
	NoColor bool
	// Now is the clock for "5 min ago" (default time.Now).
	Now func() time.Time
	// Policy is the commit policy for notes the app runs itself (offline);
	// default crdt.DefaultPolicy.
	Policy func() crdt.CommitPolicy
	// Reach says what the peer listens on (e.g. "port 4747, all interfaces,
	// mDNS"); the notes list's title bar shows it when it fits, so the user
	// always sees what the network can reach.
	Reach string
	// NoticeDelay, when set, holds back each notice that a change from
	// elsewhere reached the open note for as long as it returns, so the
	// editor shows an older text meanwhile and keystrokes are made against
	// it (the note rebases them). For tests of concurrent editing.
	NoticeDelay func() time.Duration
}

type screen int

const (
	screenList screen = iota
	screenEditor
	screenHistory
	screenSearch
)

// Smallest size the app lays out for; below it a notice is shown.
const minWidth, minHeight = 20, 5

// App is the Bubble Tea model of the whole program. Use it through the
// pointer New returns; call Close after the program ends (Run does).
type App struct {
	nb   *notebook.Notebook
	net  Network
	opts Options
	st   styles

	w, h   int
	screen screen
	list   listState
	sess   *session // the open note, nil on the list
	hist   *historyState
	// searchScreen is the search across notes (screenSearch); searchGen
	// numbers searches so only the newest result is shown.
	searchScreen *searchScreen
	searchGen    int
	dlg          dialog     // modal dialog, nil when none
	help         *helpState // the ? screen, nil when hidden

	flash     string // one-line message in the footer
	flashErr  bool
	flashTill time.Time

	// widthMethod is how the terminal renderer counts a cluster's cells
	// (Bubble Tea: wcwidth until the terminal reports mode 2027); every
	// editor and the screen fitting use it, so rows never overflow.
	widthMethod ansi.Method

	seenInvites map[crdt.DocumentID]bool
	gen         int // session generation: stale load results are recognised
	// listWatching is set while the notes list's poll (watchList) is armed.
	listWatching bool
	quitting     bool
	stop         chan struct{} // closed by Close: ends the ticker

	// debugPanic, set by tests, runs first in Update (to verify that a panic
	// restores the terminal and the note is still stored).
	debugPanic func(tea.Msg)
}

// New returns the app for nb.
func New(nb *notebook.Notebook, opts Options) *App {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Policy == nil {
		opts.Policy = func() crdt.CommitPolicy { return crdt.DefaultPolicy }
	}
	a := &App{
		nb: nb, net: opts.Network, opts: opts, st: newStyles(opts.NoColor),
		w: 80, h: 24, seenInvites: map[crdt.DocumentID]bool{}, stop: make(chan struct{}),
	}
	if a.net != nil {
		for _, inv := range a.net.Invitations() {
			a.seenInvites[inv.ID] = true // shown by the list's banner, not popped up
		}
	}
	return a
}

// Messages.
type (
	listLoadedMsg struct {
		notes []notebook.Summary
		stamp uint64 // the notebook's ListStamp taken before listing
		err   error
	}
	netEventMsg struct{}
	tickMsg     struct{}
	errMsg      struct{ err error }
	flashMsg    struct{ text string }
	// openMsg asks to open a note (after create, join or accept).
	openMsg struct{ id crdt.DocumentID }
)

// Init loads the list (or opens the note asked for) and starts listening to
// the network.
func (a *App) Init() tea.Cmd {
	cmds := []tea.Cmd{a.tick()}
	if a.opts.Open != nil {
		cmds = append(cmds, a.openNote(*a.opts.Open))
	} else {
		cmds = append(cmds, a.loadList())
	}
	if a.net != nil {
		cmds = append(cmds, a.waitNet())
	}
	return tea.Batch(cmds...)
}

// tick refreshes the "saved" indicator and expires messages.
func (a *App) tick() tea.Cmd {
	stop := a.stop
	return func() tea.Msg {
		t := time.NewTimer(500 * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return tickMsg{}
		case <-stop:
			return nil
		}
	}
}

func (a *App) waitNet() tea.Cmd {
	ch := a.net.Events()
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return nil
		}
		// Coalesce a burst into one re-read.
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return netEventMsg{}
				}
			default:
				return netEventMsg{}
			}
		}
	}
}

// Update handles every message.
func (a *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if a.debugPanic != nil {
		a.debugPanic(msg)
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.w, a.h = msg.Width, msg.Height
		a.layout()
		return a, nil
	case tea.ModeReportMsg:
		// Bubble Tea switches its renderer to grapheme widths when the
		// terminal answers the mode 2027 query at all (tea.go); do the same.
		if msg.Mode == ansi.ModeUnicodeCore && (msg.Value == ansi.ModeSet || msg.Value == ansi.ModeReset || msg.Value == ansi.ModePermanentlySet) {
			a.setWidthMethod(ansi.GraphemeWidth)
		}
		return a, nil
	case tickMsg:
		if a.flash != "" && !a.flashTill.IsZero() && a.opts.Now().After(a.flashTill) {
			a.flash = ""
		}
		if a.sess != nil {
			a.sess.refreshSaved()
			a.sess.refreshStatus()
		}
		if a.quitting {
			return a, nil
		}
		return a, a.tick()
	case errMsg:
		a.showErr(msg.err)
		return a, nil
	case flashMsg:
		a.showFlash(msg.text)
		return a, nil
	case netEventMsg:
		return a, tea.Batch(a.onNetEvent(), a.waitNet())
	case listLoadedMsg:
		a.list.set(msg.notes, msg.stamp, msg.err)
		a.refreshOnline()
		if msg.err != nil {
			a.showErr(msg.err)
		}
		var refilter tea.Cmd
		if f := a.list.filter; f != nil && f.query != "" {
			refilter = f.rerun(a)
		}
		return a, tea.Batch(a.watchList(), refilter)
	case listStampMsg:
		return a, a.onListStamp(msg)
	case searchResultMsg:
		a.onSearchResult(msg)
		return a, nil
	case openMsg:
		return a, a.openNote(msg.id)
	case noteLoadedMsg:
		return a, a.onNoteLoaded(msg)
	case remoteMsg:
		if a.sess == nil || msg.s != a.sess {
			return a, nil
		}
		a.sess.syncRemote(a)
		return a, a.sess.wait()
	case noteClosedMsg:
		if msg.err != nil {
			a.showErr(msg.err)
		}
		if a.quitting {
			return a, tea.Quit
		}
		return a, a.loadList()
	case runStoppedMsg:
		msg.s.runErr = msg.err
		a.showErr(fmt.Errorf("saving stopped: %w", msg.err))
		return a, nil
	case inviteMsg:
		if d, ok := a.dlg.(*inviteDialog); ok {
			d.ticket, d.err = msg.ticket, msg.err
			if msg.err == nil && msg.ticket != "" {
				d.copied = true
				return a, tea.SetClipboard(msg.ticket)
			}
		}
		return a, nil
	case historyLoadedMsg:
		return a, a.onHistoryLoaded(msg)
	case historyPreviewMsg:
		return a, a.onHistoryPreview(msg)
	case dialogResultMsg:
		return a, a.onDialogResult(msg)
	case tea.PasteMsg:
		return a, a.routeInput(msg)
	case tea.KeyPressMsg:
		if a.flash != "" && a.flashTill.IsZero() {
			a.flash = "" // errors stay until the next key
		}
		return a, a.routeKey(msg)
	case tea.MouseMsg:
		if a.dlg == nil && a.help == nil && a.screen == screenEditor && a.sess != nil {
			return a, a.sess.editorInput(a, msg)
		}
		if a.screen == screenHistory && a.hist != nil {
			if w, ok := msg.(tea.MouseWheelMsg); ok {
				a.hist.wheel(w)
			}
		}
		return a, nil
	}
	return a, nil
}

// routeKey sends a key to the topmost thing: help, dialog, then the screen.
func (a *App) routeKey(msg tea.KeyPressMsg) tea.Cmd {
	if a.help != nil {
		return a.help.update(a, msg)
	}
	if a.dlg != nil {
		return a.dlg.update(a, msg)
	}
	switch a.screen {
	case screenEditor:
		return a.editorKey(msg)
	case screenHistory:
		return a.historyKey(msg)
	case screenSearch:
		if a.searchScreen != nil {
			return a.searchKey(msg)
		}
		return nil
	default:
		if a.list.filter != nil {
			return a.filterKey(msg)
		}
		return a.listKey(msg)
	}
}

// routeInput handles pastes.
func (a *App) routeInput(msg tea.Msg) tea.Cmd {
	if a.help != nil {
		return nil
	}
	if a.dlg != nil {
		if in, ok := a.dlg.(inputDialog); ok {
			in.input().update(msg)
		}
		return nil
	}
	switch {
	case a.screen == screenSearch && a.searchScreen != nil:
		a.searchScreen.query.in.update(msg)
		return a.searchScreen.query.run(a)
	case a.screen == screenList && a.list.filter != nil:
		a.list.filter.in.update(msg)
		return a.list.filter.run(a)
	}
	if a.screen == screenEditor && a.sess != nil {
		if f := a.sess.find; f != nil {
			if f.inRepl {
				f.repl.update(msg)
				return nil
			}
			f.input.update(msg)
			a.sess.findLive()
			return nil
		}
		return a.sess.editorInput(a, msg)
	}
	return nil
}

func (a *App) showErr(err error) {
	if err == nil {
		return
	}
	a.flash, a.flashErr, a.flashTill = friendlyError(err), true, time.Time{}
}

func (a *App) showFlash(text string) {
	a.flash, a.flashErr, a.flashTill = text, false, a.opts.Now().Add(4*time.Second)
}

// friendlyError makes an error one readable line.
func friendlyError(err error) string {
	s := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s = "timed out: " + s
	}
	return strings.Join(strings.Fields(s), " ")
}

// newEditor makes an editor that draws the way this terminal does.
func (a *App) newEditor(opts ...editor.Option) *editor.Model {
	return editor.New(append([]editor.Option{editor.WithNoColor(a.opts.NoColor), editor.WithWidthMethod(a.widthMethod)}, opts...)...)
}

// setWidthMethod re-measures every editor on screen with the renderer's
// width method.
func (a *App) setWidthMethod(m ansi.Method) {
	a.widthMethod = m
	if s := a.sess; s != nil {
		s.ed.SetWidthMethod(m)
		if s.find != nil {
			s.find.setWidthMethod(m)
		}
	}
	if in, ok := a.dlg.(inputDialog); ok {
		in.input().ed.SetWidthMethod(m)
	}
}

// layout sizes the components after a resize.
func (a *App) layout() {
	if a.sess != nil {
		a.sess.layout(a.w, a.h)
	}
	if a.hist != nil {
		a.hist.layout(a.w, a.h)
	}
}

// quit closes the open note (storing everything) and ends the program.
func (a *App) quit() tea.Cmd {
	a.quitting = true
	if a.sess != nil && a.sess.loading && a.sess.typedWhileLoading() {
		// Keys typed while loading are stored first.
		a.sess.afterLoad = a.quit
		return nil
	}
	if a.sess != nil {
		s := a.sess
		a.sess = nil
		return s.closeCmd()
	}
	return tea.Quit
}

// Close stores and releases whatever note is still open. Run calls it after
// the program ends, whether it quit normally, was killed or panicked.
func (a *App) Close() error {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	if a.sess == nil {
		return nil
	}
	s := a.sess
	a.sess = nil
	return s.close()
}

// View draws the current screen, the dialog over it and the footer.
func (a *App) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.WindowTitle = "collab"
	if a.w < minWidth || a.h < minHeight {
		v.SetContent(fitScreen(lipgloss.Place(a.w, a.h, lipgloss.Center, lipgloss.Center,
			ansi.Wordwrap("Terminal too small", a.w, "")), a.w, a.h))
		return v
	}
	var content string
	var cursor *tea.Cursor
	switch {
	case a.help != nil:
		content = a.help.view(a)
	case a.screen == screenEditor && a.sess != nil:
		content = a.sess.view(a)
		cursor = a.sess.cursor()
		v.MouseMode = tea.MouseModeCellMotion
		v.WindowTitle = "collab — " + a.sess.displayTitle()
	case a.screen == screenHistory && a.hist != nil:
		content = a.hist.view(a)
		v.MouseMode = tea.MouseModeCellMotion
	case a.screen == screenSearch && a.searchScreen != nil:
		content = a.searchScreen.view(a)
		cursor = tea.NewCursor(len(" Search: ")+a.searchScreen.query.in.cursorX(), 1)
	default:
		content = a.list.view(a)
		if f := a.list.filter; f != nil {
			cursor = tea.NewCursor(len(" Filter: ")+f.in.cursorX(), a.h-1)
		}
	}
	if a.dlg != nil && a.help == nil {
		var c *tea.Cursor
		content, c = a.overlay(content, a.dlg)
		cursor = c
	}
	v.SetContent(fitScreenWith(a.widthMethod, content, a.w, a.h))
	v.Cursor = cursor
	return v
}

// overlay draws dialog d centred over base.
func (a *App) overlay(base string, d dialog) (string, *tea.Cursor) {
	maxW := min(a.w-2, 72)
	box, cx, cy, hasCursor := d.view(a, maxW)
	box = a.st.dialog.Render(box)
	bw, bh := lipgloss.Width(box), lipgloss.Height(box)
	if bh > a.h {
		box = strings.Join(strings.Split(box, "\n")[:a.h], "\n")
		bh = a.h
	}
	x, y := max(0, (a.w-bw)/2), max(0, (a.h-bh)/2)
	out := lipgloss.NewCompositor(
		lipgloss.NewLayer(base),
		lipgloss.NewLayer(box).X(x).Y(y).Z(1),
	).Render()
	var c *tea.Cursor
	if hasCursor {
		// Border (1) and padding (1) before the content.
		c = tea.NewCursor(x+2+cx, y+1+cy)
	}
	return fitScreen(out, a.w, a.h), c
}

// fitScreen makes s exactly h lines of at most w cells.
func fitScreen(s string, w, h int) string { return fitScreenWith(ansi.GraphemeWidth, s, w, h) }

// fitScreenWith is fitScreen counting cells with the renderer's method.
func fitScreenWith(m ansi.Method, s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if m.StringWidth(l) > w {
			lines[i] = m.Truncate(l, w, "")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// footer draws the last row: the flash message or the key hints, given as
// key, action pairs.
func (a *App) footer(hints ...string) string {
	if a.flash != "" {
		st := a.st.ok
		if a.flashErr {
			st = a.st.err
		}
		return st.Render(ansi.Truncate(a.flash, a.w, "…"))
	}
	return a.hintLine(hints...)
}

// hintLine renders as many "key action" pairs as fit the width.
func (a *App) hintLine(hints ...string) string {
	var b strings.Builder
	used := 0
	for i := 0; i+1 < len(hints); i += 2 {
		k, d := hints[i], hints[i+1]
		w := ansi.StringWidth(k) + 1 + ansi.StringWidth(d)
		sep := 0
		if i > 0 {
			sep = 2
		}
		if used+sep+w > a.w {
			break
		}
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(a.st.hintKey.Render(k) + " " + a.st.hint.Render(d))
		used += sep + w
	}
	return b.String()
}

// shortHelp is the footer's short form of a binding's description.
func shortHelp(b key.Binding) string {
	d := b.Help().Desc
	if i := strings.IndexAny(d, "(/,"); i > 0 {
		d = strings.TrimSpace(d[:i])
	}
	return d
}

// relTime says when t was, briefly.
func relTime(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 7*24*time.Hour:
		return t.Local().Format("Mon 15:04")
	case now.Year() == t.Year():
		return t.Local().Format("2 Jan")
	default:
		return t.Local().Format("2 Jan 2006")
	}
}

// onNetEvent re-reads what the network says after it changed.
func (a *App) onNetEvent() tea.Cmd {
	a.refreshOnline()
	if a.sess != nil {
		a.sess.refreshPresence(a)
		a.sess.refreshStatus()
	}
	// A new invitation pops up unless something else is modal.
	for _, inv := range a.net.Invitations() {
		if a.seenInvites[inv.ID] {
			continue
		}
		a.seenInvites[inv.ID] = true
		if a.dlg == nil && a.help == nil {
			a.dlg = newInvitesDialog(a, &inv)
		}
		break
	}
	return nil
}

// refreshOnline re-reads who is online for each listed note.
func (a *App) refreshOnline() {
	a.list.online = map[crdt.DocumentID][]string{}
	if a.net == nil {
		return
	}
	for _, n := range a.list.notes {
		a.list.online[n.ID] = onlineNames(a.net.Peers(n.ID))
	}
}

func onlineNames(peers []Peer) []string {
	var names []string
	for _, p := range peers {
		if p.Connected {
			names = append(names, display.Name(p.Name, p.ID))
		}
	}
	return names
}

// EditorState is what the open note's editor shows: its text, cursor (a
// rune offset) and whether the note has loaded. For tests and tools that
// drive the app; nothing in collab's own flow reads it.
func (a *App) EditorState() (text string, cursor int, ok bool) {
	if a.sess == nil || a.sess.note == nil || a.sess.loading || a.sess.noBody {
		return "", 0, false
	}
	return a.sess.ed.Text(), a.sess.ed.CursorPos(), true
}

// EditorLen is the length in runes of the text the editor shows, without
// copying it (what benchmarks check between frames); ok as for
// EditorState.
func (a *App) EditorLen() (n int, ok bool) {
	if a.sess == nil || a.sess.note == nil || a.sess.loading || a.sess.noBody {
		return 0, false
	}
	return a.sess.ed.Len(), true
}

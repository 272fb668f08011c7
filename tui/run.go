package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	tea "charm.land/bubbletea/v2"

	"github.com/collab-editor/collab/notebook"
)

// Run runs the app until the user quits or ctx ends. Every edit is stored
// before it returns, also after a panic: Bubble Tea restores the terminal
// when Update, View or a command panics and reports ErrProgramPanic; a panic
// anywhere else in Run is recovered and returned as an error.
func Run(ctx context.Context, nb *notebook.Notebook, opts Options, progOpts ...tea.ProgramOption) (err error) {
	app := New(nb, opts)
	return run(ctx, app, progOpts...)
}

func run(ctx context.Context, app *App, progOpts ...tea.ProgramOption) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collab crashed: %v\n%s", r, debug.Stack())
		}
		if cerr := app.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("storing the open note: %w", cerr))
		}
	}()
	p := tea.NewProgram(app, append([]tea.ProgramOption{tea.WithContext(ctx)}, progOpts...)...)
	_, err = p.Run()
	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		return fmt.Errorf("collab crashed (the terminal was restored and your note stored): %w", err)
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return nil // asked to stop (a signal): a clean exit
	}
	return err
}

// NoColor reports whether the NO_COLOR convention asks for no colours.
func NoColor() bool { return os.Getenv("NO_COLOR") != "" }

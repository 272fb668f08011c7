package tui

import (
	"charm.land/lipgloss/v2"
)

// styles are the app's looks. With NO_COLOR every distinction is made with
// attributes (reverse, bold, faint, underline) instead of colours.
type styles struct {
	bar       lipgloss.Style // status bar
	barTitle  lipgloss.Style
	barDim    lipgloss.Style
	hint      lipgloss.Style // footer key hints
	hintKey   lipgloss.Style
	header    lipgloss.Style // column headings
	selected  lipgloss.Style // selected row
	dim       lipgloss.Style
	err       lipgloss.Style
	ok        lipgloss.Style
	warn      lipgloss.Style
	banner    lipgloss.Style
	dialog    lipgloss.Style // dialog box (border)
	dlgTitle  lipgloss.Style
	input     lipgloss.Style
	added     lipgloss.Style
	removed   lipgloss.Style
	separator lipgloss.Style
	// In a history preview: text a version added, and text it removed
	// (shown in place).
	textAdded, textRemoved lipgloss.Style
}

func newStyles(noColor bool) styles {
	s := lipgloss.NewStyle
	if noColor {
		return styles{
			bar:         s().Reverse(true),
			barTitle:    s().Reverse(true).Bold(true),
			barDim:      s().Reverse(true),
			hint:        s(),
			hintKey:     s().Bold(true),
			header:      s().Bold(true),
			selected:    s().Reverse(true),
			dim:         s().Faint(true),
			err:         s().Bold(true),
			ok:          s(),
			warn:        s().Bold(true),
			banner:      s().Reverse(true).Bold(true),
			dialog:      s().Border(lipgloss.RoundedBorder()).Padding(0, 1),
			dlgTitle:    s().Bold(true),
			input:       s().Underline(true),
			added:       s(),
			removed:     s(),
			separator:   s().Faint(true),
			textAdded:   s().Underline(true),
			textRemoved: s().Strikethrough(true).Faint(true),
		}
	}
	accent := lipgloss.Color("#7d56f4")
	grey := lipgloss.Color("#8a8a8a")
	return styles{
		bar:         s().Background(lipgloss.Color("#3a3a5a")).Foreground(lipgloss.Color("#e4e4e4")),
		barTitle:    s().Background(accent).Foreground(lipgloss.Color("#ffffff")).Bold(true),
		barDim:      s().Background(lipgloss.Color("#3a3a5a")).Foreground(lipgloss.Color("#a8a8c8")),
		hint:        s().Foreground(grey),
		hintKey:     s().Foreground(lipgloss.Color("#d7d7ff")).Bold(true),
		header:      s().Foreground(grey).Bold(true),
		selected:    s().Background(lipgloss.Color("#303050")).Foreground(lipgloss.Color("#ffffff")).Bold(true),
		dim:         s().Foreground(grey),
		err:         s().Foreground(lipgloss.Color("#ff5f5f")).Bold(true),
		ok:          s().Foreground(lipgloss.Color("#5fd787")),
		warn:        s().Foreground(lipgloss.Color("#ffaf5f")),
		banner:      s().Background(lipgloss.Color("#d7875f")).Foreground(lipgloss.Color("#000000")).Bold(true),
		dialog:      s().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
		dlgTitle:    s().Foreground(lipgloss.Color("#afafff")).Bold(true),
		input:       s().Underline(true),
		added:       s().Foreground(lipgloss.Color("#5fd787")),
		removed:     s().Foreground(lipgloss.Color("#ff5f5f")),
		separator:   s().Foreground(grey),
		textAdded:   s().Background(lipgloss.Color("#1f4d2e")).Foreground(lipgloss.Color("#d7ffd7")),
		textRemoved: s().Strikethrough(true).Foreground(lipgloss.Color("#ff8787")),
	}
}

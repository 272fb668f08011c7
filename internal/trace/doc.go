// Package trace reads the editing traces benchmarks replay (see
// ../shared/traces/README.md): gzipped JSON of keystroke-level patches.
package trace

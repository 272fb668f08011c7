package engine

// Running reports whether Run has started and not yet begun stopping:
// callers that start Run on a goroutine wait for it before calling Join,
// Share or Accept.
func (e *Engine) Running() bool {
	_, err := e.runCtx()
	return err == nil
}

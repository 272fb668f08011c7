package amformat

import "fmt"

// checkLayout verifies the model's blocks and element index against each
// other: what tests call after every change they apply.
func (m *Model) checkLayout() error {
	for _, o := range m.objs {
		nvis := 0
		for ord, b := range o.blocks {
			if b.ord != ord || b.obj != o || m.blocks[b.handle-1] != b {
				return fmt.Errorf("block %d: misplaced", ord)
			}
			n := 0
			for _, r := range b.runs {
				if r.n == 0 {
					return fmt.Errorf("block %d: an empty run", ord)
				}
				n += int(r.n)
			}
			if n != b.len() {
				return fmt.Errorf("block %d: runs hold %d elements, chars %d", ord, n, b.len())
			}
			if esc := b.escapesBefore(b.len()); esc != len(b.others) {
				return fmt.Errorf("block %d: %d escaped elements, %d values", ord, esc, len(b.others))
			}
			if v := b.visibleBefore(b.len()); v != b.nvis {
				return fmt.Errorf("block %d: %d visible, counted %d", ord, v, b.nvis)
			}
			nvis += b.nvis
			var err error
			b.each(func(k elemKey, ch int32, vis bool) bool {
				if lb, i, ok := m.locate(k); !ok || lb != b || lb.id(i) != k {
					err = fmt.Errorf("block %d: element %x not found by the index", ord, uint64(k))
					return false
				}
				if vis && ch < 0 {
					err = fmt.Errorf("block %d: a visible mark", ord)
					return false
				}
				return true
			})
			if err != nil {
				return err
			}
		}
		if nvis != o.nvis {
			return fmt.Errorf("object: %d visible, blocks count %d", o.nvis, nvis)
		}
	}
	return nil
}

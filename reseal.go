package usher

// ResealReport counts, per "table.column", the values a Reseal moved to the
// current key and those still under another key once it stopped.
type ResealReport struct {
	Resealed   map[string]int `json:"resealed"`
	Remaining  map[string]int `json:"remaining"`
	Unreadable map[string]int `json:"unreadable"` // under no key of the ring
}

// Done reports whether every value is under the current key.
func (r ResealReport) Done() bool {
	for _, n := range r.Remaining {
		if n > 0 {
			return false
		}
	}
	for _, n := range r.Unreadable {
		if n > 0 {
			return false
		}
	}
	return true
}

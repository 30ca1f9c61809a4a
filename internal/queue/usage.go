package queue

import (
	"context"
	"fmt"
)

// Usage returns the bytes held by the fullest of the inbound streams (by
// share of its cap) and its cap: when a partition's stream is full, the
// receiver answers 503 for that partition's orders, so the fullest one is
// what an alert must watch. All streams are empty when it returns 0 bytes.
func (q *Queue) Usage(ctx context.Context) (used, capacity int64, err error) {
	for i, st := range q.distinctStreams() {
		info, err := st.Info(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("stream info: %w", err)
		}
		u, c := int64(info.State.Bytes), info.Config.MaxBytes
		if i == 0 || float64(u)*float64(capacity) > float64(used)*float64(c) {
			used, capacity = u, c
		}
	}
	return used, capacity, nil
}

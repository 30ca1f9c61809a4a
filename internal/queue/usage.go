package queue

import (
	"context"
	"fmt"
)

// Usage returns the bytes the inbound stream holds and its cap: when it is
// full the receiver answers 503.
func (q *Queue) Usage(ctx context.Context) (used, capacity int64, err error) {
	info, err := q.stream.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("stream info: %w", err)
	}
	return int64(info.State.Bytes), info.Config.MaxBytes, nil
}

package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// RenewDeliveries extends to leaseUntil the leases that token still holds
// on the deliveries ids, while their attempts run, and returns how many it
// extended. A delivery settled or released since is left alone.
func (db *DB) RenewDeliveries(ctx context.Context, ids []int64, token string, leaseUntil time.Time) (int64, error) {
	if len(ids) == 0 || token == "" {
		return 0, nil
	}
	args := []any{micros(leaseUntil), token}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	// The id list varies in length: run uncached, not one cached statement per length.
	res, err := db.write.ExecContext(ctx, `UPDATE deliveries SET lease_until = $1
		WHERE lease_token = $2 AND id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("renew delivery leases: %w", err)
	}
	return res.RowsAffected()
}

// ReleaseLeases ends every lease of a pending delivery whose token starts
// with prefix, so that those deliveries are claimable at once, and returns
// how many it ended. A process calls it at start for the leases its own
// previous run left behind when it died; prefix must name that run's
// tokens and no live claim's.
func (db *DB) ReleaseLeases(ctx context.Context, prefix string) (int64, error) {
	if prefix == "" {
		return 0, nil
	}
	res, err := db.write.ExecContext(ctx, `UPDATE deliveries SET lease_until = 0, lease_token = ''
		WHERE status = $1 AND lease_token <> '' AND substr(lease_token, 1, $2) = $3`, usher.DeliveryPending, len(prefix), prefix)
	if err != nil {
		return 0, fmt.Errorf("release leases: %w", err)
	}
	return res.RowsAffected()
}

package server

import (
	"github.com/usherhq/usher/internal/delivery"
	"github.com/usherhq/usher/internal/incident"
	"github.com/usherhq/usher/internal/pii"
	"github.com/usherhq/usher/internal/scanner"
	"github.com/usherhq/usher/internal/store"
)

// The edges (delivery, scanner, passes, pii) name no store type: each
// declares the unit of work it needs as an interface, and the wiring binds
// the store to it here. The compiler checks that *store.Tx implements each.

func piiStore(db *store.DB) store.Bound[pii.Tx] {
	return store.Bind(db, func(tx *store.Tx) pii.Tx { return tx })
}

func scannerStore(db *store.DB) store.Bound[scanner.Tx] {
	return store.Bind(db, func(tx *store.Tx) scanner.Tx { return tx })
}

func deliveryStore(db *store.DB) store.Bound[delivery.Tx] {
	return store.Bind(db, func(tx *store.Tx) delivery.Tx { return tx })
}

// incidentStore is db as incidents use it.
func incidentStore(db *store.DB) store.Bound[incident.Tx] {
	return store.Bind(db, func(tx *store.Tx) incident.Tx { return tx })
}

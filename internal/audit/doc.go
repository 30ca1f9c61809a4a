// Package audit checks and serves usher's audit trail.
//
// The store appends the records (store.Tx.AppendAudit), each in the
// transaction of the change it records, to one hash chain: every record
// carries the hash of the record before it, and a head row holds the last
// seq and hash. Verify walks the whole chain and finds the first record that
// was edited, removed, inserted or moved; the API lists records for
// operators. docs/audit.md defines the hash and what a check can and cannot
// prove.
package audit

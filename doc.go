// Package usher holds the vocabulary of the usher ticketing webhook platform:
// inbound events, orders, tickets, inventory, identifiers (ValidateID, NewID)
// and the one error type that every layer returns. It performs no I/O; the
// packages under internal/ do.
//
// docs/architecture.md maps every package, follows one webhook from the
// receiver to the delivery lanes and scanner feeds, lists the extension
// points and states the dependency rules.
package usher

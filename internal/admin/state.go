package admin

import (
	"net/http"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

type putInventoryRequest struct {
	Capacity *int `json:"capacity"`
}

func (a *API) handlePutInventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		show, ticketType := r.PathValue("show_id"), r.PathValue("ticket_type")
		if err := usher.ValidateID("show_id", show); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if err := usher.ValidateID("ticket_type", ticketType); err != nil {
			problem.Fail(w, r, err)
			return
		}
		var req putInventoryRequest
		if err := decode(r, &req); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if req.Capacity == nil || *req.Capacity < 0 || *req.Capacity > 10_000_000 {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "capacity must be a number from 0 to 10000000"))
			return
		}
		inv, err := a.store.PutCapacity(r.Context(), show, ticketType, *req.Capacity)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		a.log.Info("capacity set", "show_id", show, "ticket_type", ticketType, "capacity", *req.Capacity)
		a.audit(r, actionCapacitySet, "inventory", show+"/"+ticketType, map[string]int{"capacity": *req.Capacity})
		respond(w, http.StatusOK, inv)
	})
}

func (a *API) handleGetInventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		show := r.PathValue("show_id")
		inv, err := a.store.ShowInventory(r.Context(), show)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if inv == nil {
			inv = []usher.Inventory{}
		}
		respond(w, http.StatusOK, map[string]any{"show_id": show, "ticket_types": inv})
	})
}

func (a *API) handleGetOrder() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := a.store.OrderWithTickets(r.Context(), r.PathValue("order_id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, o)
	})
}

func (a *API) handleGetTicket() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := a.store.Ticket(r.Context(), r.PathValue("ticket_id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, t)
	})
}

// actionCapacitySet is the audit action of a capacity set by an operator: an
// audit record, not an event type (internal/events catalogs those).
const actionCapacitySet = "inventory.capacity_set"

package delivery

import (
	"net/http"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/problem"
)

// deadLetterFilter reads the search parameters of the dead-letter list.
func deadLetterFilter(get func(string) string) (usher.DeadLetterFilter, error) {
	f := usher.DeadLetterFilter{
		Stage: get("stage"), Source: get("source"), SubscriptionID: get("subscription_id"), Type: get("type"),
		OrderID: get("order_id"), VenueID: get("venue_id"), Reason: get("reason"), State: get("state"), Cursor: get("cursor"),
	}
	switch f.Stage {
	case "", StageProcessing, StageDelivery:
	default:
		return f, usher.Errorf(usher.CodeInvalid, "stage %q: want %s or %s", f.Stage, StageProcessing, StageDelivery)
	}
	var err error
	if f.Since, err = parseTime("since", get("since")); err != nil {
		return f, err
	}
	f.Until, err = parseTime("until", get("until"))
	return f, err
}

func (s *Service) handleListDeadLetters() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := deadLetterFilter(r.URL.Query().Get)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if f.Limit, err = queryLimit(r, 50, 500); err != nil {
			problem.Fail(w, r, err)
			return
		}
		dls, next, err := s.st.SearchDeadLetters(r.Context(), f)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		redactPayloads(dls)
		out := map[string]any{"dead_letters": dls}
		if next != "" {
			out["next_cursor"] = next
		}
		respond(w, http.StatusOK, out)
	})
}

type deadLetterDetail struct {
	usher.DeadLetterRecord
	DeliveryAttempts []usher.DeliveryAttempt `json:"delivery_attempts"`
}

func (s *Service) handleGetDeadLetter() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dl, err := s.st.DeadLetterByID(r.Context(), r.PathValue("id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if err := s.revealPersonal(r.Context(), &dl); err != nil {
			problem.Fail(w, r, err)
			return
		}
		out := deadLetterDetail{DeadLetterRecord: dl, DeliveryAttempts: []usher.DeliveryAttempt{}}
		if dl.Stage == StageDelivery {
			attempts, err := s.st.DeliveryAttempts(r.Context(), usher.AttemptFilter{SubscriptionID: dl.SubscriptionID, EventID: dl.EventID, Limit: 1000})
			if err != nil {
				problem.Fail(w, r, err)
				return
			}
			for i := len(attempts) - 1; i >= 0; i-- { // oldest first
				out.DeliveryAttempts = append(out.DeliveryAttempts, attempts[i])
			}
		}
		respond(w, http.StatusOK, out)
	})
}

func (s *Service) handleReplayDeadLetter() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dl, err := s.ReplayDeadLetter(r.Context(), r.PathValue("id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("dead letter replayed", "dead_letter_id", dl.ID, "stage", dl.Stage, "event_id", dl.EventID)
		respond(w, http.StatusOK, dl)
	})
}

type bulkReplayRequest struct {
	Stage          string `json:"stage"`
	Source         string `json:"source"`
	SubscriptionID string `json:"subscription_id"`
	Type           string `json:"type"`
	OrderID        string `json:"order_id"`
	VenueID        string `json:"venue_id"`
	Reason         string `json:"reason"`
	Since          string `json:"since"`
	Until          string `json:"until"`
	All            bool   `json:"all"`
	Limit          int    `json:"limit"`
	Cursor         string `json:"cursor"`
}

func (s *Service) handleBulkReplay() http.Handler {
	return httpjson.WithBody(httpjson.Options{Limit: maxBody}, func(w http.ResponseWriter, r *http.Request, req bulkReplayRequest) {
		fields := map[string]string{
			"stage": req.Stage, "source": req.Source, "subscription_id": req.SubscriptionID, "type": req.Type,
			"order_id": req.OrderID, "venue_id": req.VenueID, "reason": req.Reason, "since": req.Since, "until": req.Until, "cursor": req.Cursor,
		}
		f, err := deadLetterFilter(func(k string) string { return fields[k] })
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if f == (usher.DeadLetterFilter{Cursor: req.Cursor}) && !req.All {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "name a filter (stage, subscription_id, type, venue_id, reason, since, …) or set \"all\": true"))
			return
		}
		if req.Limit < 0 || req.Limit > maxReplayLimit {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "limit %d: want 1 to %d", req.Limit, maxReplayLimit))
			return
		}
		f.Limit = req.Limit
		res, err := s.ReplayDeadLetters(r.Context(), f)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("dead letters replayed", "matched", res.Matched, "replayed", res.Replayed, "skipped", res.Skipped)
		respond(w, http.StatusOK, res)
	})
}

package drill

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/loadgen"
	"github.com/usherhq/usher/internal/scanner"
)

// Quantiles are percentiles of a latency, in milliseconds.
type Quantiles struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
}

func (q Quantiles) String() string {
	return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms (n=%d)", q.P50, q.P99, q.P999, q.N)
}

// Report is what a drill run measured and found.
type Report struct {
	Venues    []string      `json:"venues"`
	Scanners  int           `json:"scanners_per_venue"`
	Simulated time.Duration `json:"simulated_ns"`
	Outage    time.Duration `json:"outage_simulated_ns"`
	Wall      time.Duration `json:"wall_ns"`

	Orders       int `json:"orders"`
	Tickets      int `json:"tickets"`
	Refunds      int `json:"refunds"`
	Scans        int `json:"scans"`
	OfflineScans int `json:"offline_scans"`
	// What reached the outage venue's feed while its scanners were dark.
	PaymentsDuringOutage int `json:"payments_during_outage"`
	RefundsDuringOutage  int `json:"refunds_during_outage"`
	ChangesDuringOutage  int `json:"changes_during_outage"`

	// CatchUp runs from the network's return to the last scanner holding
	// the feed's head: Upload (the queued scans) then Download (the feed).
	CatchUp           time.Duration `json:"catch_up_ns"`
	Upload            time.Duration `json:"upload_ns"`
	Download          time.Duration `json:"download_ns"`
	Uploaded          int           `json:"uploaded_scans"`
	Downloaded        int           `json:"downloaded_changes"`
	ReplayedPerSecond float64       `json:"replayed_per_second"`

	// Freshness: webhook accepted → first arrival at a scanner of the venue
	// over the event stream, measured by the scanners, at the venues that
	// stayed online; Issued counts ticket.issued (order.paid) only.
	FreshnessIssued Quantiles `json:"freshness_issued"`
	FreshnessAll    Quantiles `json:"freshness_all"`
	// ServerFreshness is usher_scanner_freshness_seconds over the run, every
	// venue and type (the outage venue's dark minutes included), as
	// estimated from its buckets.
	ServerFreshness Quantiles `json:"server_freshness"`
	// CommitLag: webhook accepted → feed entry committed, every change and
	// ticket.issued only.
	CommitLag       Quantiles `json:"commit_lag"`
	CommitLagIssued Quantiles `json:"commit_lag_issued"`

	// Reconciliation at the outage venue, and what the twin answered the
	// same holders online.
	DuplicateEntries     int `json:"duplicate_entries"`
	AdmittedWhileRevoked int `json:"admitted_while_revoked"`
	TwinAlreadyAdmitted  int `json:"twin_already_admitted_for_duplicates"`
	TwinRevoked          int `json:"twin_revoked_for_admitted_while_revoked"`
	// OtherRefusals turned a holder away for another reason than the twin
	// did (the dark gate had not heard of a refund or an admission yet).
	OtherRefusals int `json:"other_refusals"`
	Admitted      int `json:"outage_venue_admitted"`

	LostScans         int      `json:"lost_scans"`
	LostAdmissions    int      `json:"lost_admissions"`
	DoubledAdmissions int      `json:"doubled_admissions"`
	ReuploadChanged   []string `json:"reupload_changed,omitempty"`
	Mismatches        []string `json:"twin_mismatches,omitempty"`
	CopiesDiffer      []string `json:"scanner_copies_differ,omitempty"`
}

// OK reports whether every check passed.
func (r Report) OK() bool {
	return r.LostScans == 0 && r.LostAdmissions == 0 && r.DoubledAdmissions == 0 &&
		len(r.ReuploadChanged) == 0 && len(r.Mismatches) == 0 && len(r.CopiesDiffer) == 0
}

// Print writes the report for a reader.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "usher drill venue-outage: %s; %d scanners each\n", strings.Join(r.Venues, ", "), r.Scanners)
	fmt.Fprintf(w, "  %s dark for %s (simulated); %s plays the same script, always online\n", OutageVenue, r.Outage, TwinVenue)
	fmt.Fprintf(w, "  load: %d orders (%d tickets), %d refunds, %d scans (%d decided offline) over %s simulated, in %s\n",
		r.Orders, r.Tickets, r.Refunds, r.Scans, r.OfflineScans, r.Simulated, r.Wall.Round(time.Millisecond))
	fmt.Fprintf(w, "  during the outage: %d payments and %d refunds for %s, %d feed changes it could not see\n",
		r.PaymentsDuringOutage, r.RefundsDuringOutage, OutageVenue, r.ChangesDuringOutage)
	fmt.Fprintf(w, "  catch-up: %s after the network came back (upload %d scans %s, then download %d changes %s); %.0f events replayed/s\n",
		r.CatchUp.Round(time.Millisecond), r.Uploaded, r.Upload.Round(time.Millisecond), r.Downloaded, r.Download.Round(time.Millisecond), r.ReplayedPerSecond)
	fmt.Fprintf(w, "  freshness, accepted → first at a scanner, ticket.issued, online venues: %s\n", r.FreshnessIssued)
	fmt.Fprintf(w, "  freshness, every change type, online venues: %s\n", r.FreshnessAll)
	fmt.Fprintf(w, "  usher_scanner_freshness_seconds, every venue and type: %s\n", r.ServerFreshness)
	fmt.Fprintf(w, "  commit lag, accepted → feed commit, ticket.issued: %s\n", r.CommitLagIssued)
	fmt.Fprintf(w, "  commit lag, every change: %s\n", r.CommitLag)
	fmt.Fprintf(w, "  reconciliation at %s: %d duplicate_entry (twin: %d already_admitted), %d admitted_while_revoked (twin: %d revoked), %d refused for another reason\n",
		OutageVenue, r.DuplicateEntries, r.TwinAlreadyAdmitted, r.AdmittedWhileRevoked, r.TwinRevoked, r.OtherRefusals)
	verdict := func(problems []string, ok string) string {
		if len(problems) == 0 {
			return ok
		}
		return fmt.Sprintf("%d differences: %s", len(problems), strings.Join(problems[:min(len(problems), 5)], "; "))
	}
	fmt.Fprintf(w, "  final state vs the always-online twin: %s\n", verdict(r.Mismatches, fmt.Sprintf("equal (%d tickets admitted at each)", r.Admitted)))
	fmt.Fprintf(w, "  admissions: %d lost, %d doubled; %d scans lost\n", r.LostAdmissions, r.DoubledAdmissions, r.LostScans)
	fmt.Fprintf(w, "  uploading the same batches again: %s\n", verdict(r.ReuploadChanged, "changed nothing"))
	fmt.Fprintf(w, "  scanner copies vs usher: %s\n", verdict(r.CopiesDiffer, "every copy equals its venue's state"))
	if r.OK() {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
}

// venueState is what usher holds for a venue at the end.
type venueState struct {
	scans      map[string]usher.Scan // by nonce
	admissions map[string]usher.Admission
	tickets    map[string]string // ticket id → status
}

func (r *run) state(ctx context.Context, v *venue) (venueState, error) {
	st := venueState{scans: map[string]usher.Scan{}, admissions: map[string]usher.Admission{}, tickets: map[string]string{}}
	for after := int64(0); ; {
		page, err := r.target.Store.Scans(ctx, v.name, after, 1000)
		if err != nil {
			return st, err
		}
		if len(page) == 0 {
			break
		}
		for _, s := range page {
			st.scans[s.Nonce] = s
		}
		after = page[len(page)-1].ID
	}
	adm, err := r.target.Store.Admissions(ctx, v.name)
	if err != nil {
		return st, err
	}
	for _, a := range adm {
		st.admissions[a.TicketID] = a
	}
	for after := ""; ; {
		page, err := r.target.Store.VenueTickets(ctx, v.name, after, 1000)
		if err != nil {
			return st, err
		}
		if len(page) == 0 {
			break
		}
		for _, t := range page {
			st.tickets[t.TicketID] = string(t.Status)
		}
		after = page[len(page)-1].TicketID
	}
	return st, nil
}

func (r *run) report(ctx context.Context, before, after loadgen.Snapshot) (Report, error) {
	rep := Report{Scanners: r.cfg.Scanners, Outage: r.cfg.Outage, Simulated: r.cfg.Doors}
	states := map[*venue]venueState{}
	for _, v := range r.venues {
		rep.Venues = append(rep.Venues, v.name)
		st, err := r.state(ctx, v)
		if err != nil {
			return rep, err
		}
		states[v] = st
		r.count(&rep, v)
		checkAdmissions(&rep, v, st)
		for _, d := range v.devices {
			if got := d.State(); !mapsEqual(got, st.tickets) {
				rep.CopiesDiffer = append(rep.CopiesDiffer, fmt.Sprintf("%s holds %d tickets, usher %d, or a status differs", d.ID, len(got), len(st.tickets)))
			}
		}
	}
	twin := r.venues[len(r.venues)-1]
	if err := r.compareTwin(ctx, &rep, states[r.out], states[twin]); err != nil {
		return rep, err
	}
	if err := r.reupload(ctx, &rep, states[r.out]); err != nil {
		return rep, err
	}
	rep.OfflineScans = r.outages.offlineScans
	rep.PaymentsDuringOutage, rep.RefundsDuringOutage, rep.ChangesDuringOutage = r.outages.paymentsDuringDark, r.outages.refundsDuringDark, r.outages.changesDuringDark
	rep.Upload, rep.Download = r.outages.uploadTook, r.outages.downloadTook
	rep.CatchUp = rep.Upload + rep.Download
	rep.Uploaded, rep.Downloaded = r.outages.uploaded, r.outages.downloaded
	if rep.CatchUp > 0 {
		rep.ReplayedPerSecond = float64(rep.Uploaded+rep.Downloaded) / rep.CatchUp.Seconds()
	}
	if err := r.freshness(ctx, &rep); err != nil {
		return rep, err
	}
	n, _, q := loadgen.HistogramDelta(before, after, "usher_scanner_freshness_seconds", 0.5, 0.99, 0.999)
	rep.ServerFreshness = Quantiles{N: int(n), P50: ms(q[0]), P99: ms(q[1]), P999: ms(q[2])}
	return rep, nil
}

func (r *run) count(rep *Report, v *venue) {
	rep.Orders += len(v.script.quantities)
	for _, q := range v.script.quantities {
		rep.Tickets += q
	}
	for _, s := range v.script.steps {
		switch s.kind {
		case stepRefund:
			rep.Refunds++
		case stepScan:
			rep.Scans++
		}
	}
}

// checkAdmissions counts lost scans and lost or doubled admissions: every
// scan a gate made is recorded once; a ticket that somebody entered on has
// exactly one admission, held by its one scan whose result is admitted.
func checkAdmissions(rep *Report, v *venue, st venueState) {
	for n := range v.results {
		if _, ok := st.scans[v.nonce(n)]; !ok {
			rep.LostScans++
		}
	}
	admitted := map[string]int{}
	entered := map[string]bool{}
	for _, s := range st.scans {
		switch s.Result {
		case scanner.ResultAdmitted:
			admitted[s.TicketID]++
			entered[s.TicketID] = true
		case scanner.ResultDuplicateEntry:
			entered[s.TicketID] = true
		}
	}
	for _, n := range admitted {
		if n > 1 {
			rep.DoubledAdmissions += n - 1
		}
	}
	for ticket := range entered {
		a, ok := st.admissions[ticket]
		if !ok || st.scans[a.Nonce].Result != scanner.ResultAdmitted {
			rep.LostAdmissions++
		}
	}
	for ticket, status := range st.tickets {
		if _, ok := st.admissions[ticket]; status == "admitted" && !ok {
			rep.LostAdmissions++
		}
	}
}

// compareTwin holds the outage venue to the twin, holder by holder: let in
// where the twin let in; where the twin refused, refused too or flagged
// (duplicate_entry for already_admitted, admitted_while_revoked for
// revoked); and ticket by ticket: the same status, admitted by the same
// holder's scan.
func (r *run) compareTwin(ctx context.Context, rep *Report, out, twin venueState) error {
	twinVenue := r.venues[len(r.venues)-1]
	for _, s := range r.out.script.steps {
		if s.kind != stepScan {
			continue
		}
		o, t := out.scans[r.out.nonce(s.n)].Result, twin.scans[twinVenue.nonce(s.n)].Result
		switch {
		case o == scanner.ResultDuplicateEntry && t == scanner.ResultAlreadyAdmitted:
			rep.DuplicateEntries++
			rep.TwinAlreadyAdmitted++
		case o == scanner.ResultAdmittedWhileRevoked && t == scanner.ResultRevoked:
			rep.AdmittedWhileRevoked++
			rep.TwinRevoked++
		case o == t:
		case refused(o) && refused(t):
			// Both turned the holder away; offline for another reason, as
			// the gate had not heard of a refund or of another admission.
			rep.OtherRefusals++
		default:
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("scan %d: %s here, %s at the twin", s.n, o, t))
		}
	}
	holder := func(st venueState, v *venue, ticket string) string {
		a, ok := st.admissions[ticket]
		if !ok {
			return "nobody"
		}
		return strings.TrimPrefix(a.Nonce, v.name+"-")
	}
	for o := range r.out.script.quantities {
		outIDs, err := r.ticketIDs(ctx, r.out, o)
		if err != nil {
			return err
		}
		twinIDs, err := r.ticketIDs(ctx, twinVenue, o)
		if err != nil {
			return err
		}
		if len(outIDs) != len(twinIDs) {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("order %d: %d tickets here, %d at the twin", o, len(outIDs), len(twinIDs)))
			continue
		}
		for k := range outIDs {
			os, ts := out.tickets[outIDs[k]], twin.tickets[twinIDs[k]]
			oh, th := holder(out, r.out, outIDs[k]), holder(twin, twinVenue, twinIDs[k])
			if os != ts || oh != th {
				rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("order %d ticket %d: %s admitted by %s here, %s by %s at the twin", o, k, os, oh, ts, th))
			}
			if oh != "nobody" {
				rep.Admitted++
			}
		}
	}
	return nil
}

// refused reports whether a scan's holder was turned away.
func refused(result string) bool {
	switch result {
	case scanner.ResultAdmitted, scanner.ResultDuplicateEntry, scanner.ResultAdmittedWhileRevoked, "":
		return false
	}
	return true
}

// ticketIDs lists an order's ticket ids in the order its holders use.
func (r *run) ticketIDs(ctx context.Context, v *venue, o int) ([]string, error) {
	order, err := r.target.Store.OrderWithTickets(ctx, v.orderID(o))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(order.Tickets))
	for i, t := range order.Tickets {
		ids[i] = t.TicketID
	}
	slices.Sort(ids)
	return ids, nil
}

// reupload sends every offline scanner's queue again and checks that
// nothing changes: the same results, no new scan, feed entry or event.
func (r *run) reupload(ctx context.Context, rep *Report, st venueState) error {
	head, err := r.target.Store.FeedHead(ctx, r.out.name)
	if err != nil {
		return err
	}
	events, err := r.target.Store.OutboxAfter(ctx, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	for _, d := range r.out.devices {
		res, err := d.Upload(ctx)
		if err != nil {
			return err
		}
		for _, x := range res {
			if want := st.scans[x.Nonce].Result; x.Result != want {
				rep.ReuploadChanged = append(rep.ReuploadChanged, fmt.Sprintf("%s: %s, first %s", x.Nonce, x.Result, want))
			}
		}
	}
	after, err := r.state(ctx, r.out)
	if err != nil {
		return err
	}
	head2, _ := r.target.Store.FeedHead(ctx, r.out.name)
	events2, _ := r.target.Store.OutboxAfter(ctx, 0, math.MaxInt32)
	if head2 != head || len(events2) != len(events) || len(after.scans) != len(st.scans) || len(after.admissions) != len(st.admissions) {
		rep.ReuploadChanged = append(rep.ReuploadChanged, fmt.Sprintf("feed %d→%d, events %d→%d, scans %d→%d, admissions %d→%d",
			head, head2, len(events), len(events2), len(st.scans), len(after.scans), len(st.admissions), len(after.admissions)))
	}
	return nil
}

// freshness measures, from the scanners' side, how long after acceptance
// each change first reached a scanner of its venue, and the commit lag of
// every change from the store.
func (r *run) freshness(ctx context.Context, rep *Report) error {
	var issued, all, lag, lagIssued []time.Duration
	for _, v := range r.venues {
		changes, err := r.allChanges(ctx, v.name)
		if err != nil {
			return err
		}
		first := map[int64]time.Time{}
		for _, d := range v.devices {
			seen, _ := d.Seen()
			for seq, at := range seen {
				if f, ok := first[seq]; !ok || at.Before(f) {
					first[seq] = at
				}
			}
		}
		for _, c := range changes {
			lag = append(lag, c.ChangedAt.Sub(c.AcceptedAt))
			if c.Status == "valid" {
				lagIssued = append(lagIssued, c.ChangedAt.Sub(c.AcceptedAt))
			}
			at, ok := first[c.Seq]
			if v == r.out || !ok {
				continue
			}
			all = append(all, at.Sub(c.AcceptedAt))
			if c.Status == "valid" {
				issued = append(issued, at.Sub(c.AcceptedAt))
			}
		}
	}
	rep.FreshnessIssued, rep.FreshnessAll = quantiles(issued), quantiles(all)
	rep.CommitLag, rep.CommitLagIssued = quantiles(lag), quantiles(lagIssued)
	return nil
}

func (r *run) allChanges(ctx context.Context, venue string) ([]usher.TicketChange, error) {
	var out []usher.TicketChange
	for after := int64(0); ; {
		page, err := r.target.Store.TicketChanges(ctx, venue, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return out, nil
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

func quantiles(ds []time.Duration) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return float64(ds[max(i, 0)]) / float64(time.Millisecond)
	}
	return Quantiles{N: len(ds), P50: at(0.5), P99: at(0.99), P999: at(0.999)}
}

func ms(seconds float64) float64 {
	if math.IsNaN(seconds) {
		return 0
	}
	return seconds * 1000
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

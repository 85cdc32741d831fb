package devices

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReportKind is how a lift was checked.
type ReportKind string

// Report kinds.
const (
	ReportRemote ReportKind = "remote"
	ReportOnSite ReportKind = "onsite"
)

// ItemResult is the outcome of one checklist item.
type ItemResult string

// Item results. NotCheckableRemotely is for remote reports only: the item
// carries over to the next on-site visit.
const (
	ItemOK                   ItemResult = "ok"
	ItemNotOK                ItemResult = "not_ok"
	ItemNotCheckableRemotely ItemResult = "not_checkable_remotely"
)

// ItemCheck is one checklist item's result in a report.
type ItemCheck struct {
	Code   string
	Result ItemResult
	Note   string
}

// Evidence is a video (or photo) a remote inspection rests on: where it
// is kept, its SHA-256 so nobody can swap it, how long it runs and when it
// was captured.
type Evidence struct {
	URL             string
	SHA256          string
	DurationSeconds int
	CapturedAt      time.Time
}

// MaintenanceReport is a firm's record of a remote (video) inspection or
// an on-site maintenance of a lift. Reports are immutable once submitted;
// the venue operator may countersign one.
type MaintenanceReport struct {
	ID              string
	Kind            ReportKind
	TaskID          *string
	ContractID      string
	ElevatorID      string
	VenueID         string
	OperatorOrgID   string
	FirmOrgID       string
	AgreementID     *string
	Category        MaintenanceCategory // on site: the category done; remote: half_monthly
	PerformedAt     time.Time
	Technician      string
	VenuePerson     string // the venue's person present (required for a remote inspection)
	Notes           string
	Items           []ItemCheck
	Evidence        []Evidence
	CountersignedAt *time.Time
	CountersignedBy string
	CountersignNote string
	// Effects, set by the store when the report is filed.
	UrgentTaskID   *string
	CarriedOver    []string
	AgreementState AgreementState
	SubmittedAt    time.Time
}

// MaxReportEvidence bounds a report's evidence list.
const MaxReportEvidence = 50

// Failed lists the codes of the items found not ok.
func (r MaintenanceReport) Failed() []string {
	var out []string
	for _, it := range r.Items {
		if it.Result == ItemNotOK {
			out = append(out, it.Code)
		}
	}
	return out
}

// NotCheckable lists the codes of the items a remote inspection could not
// check; they carry over to the next on-site visit.
func (r MaintenanceReport) NotCheckable() []string {
	var out []string
	for _, it := range r.Items {
		if it.Result == ItemNotCheckableRemotely {
			out = append(out, it.Code)
		}
	}
	return out
}

// Validate checks a report before it is filed, against now (no future
// times). A remote inspection reports on the half-monthly items: every
// remotely checkable one gets ok or not_ok, and any other half-monthly
// item may be listed as not_checkable_remotely; it needs the venue's
// person present and at least one piece of evidence, each with a SHA-256.
// An on-site report gives ok or not_ok for every item of its category (the
// categories are cumulative). Unknown codes, codes outside the category and
// repeated codes are refused, naming items[i].code.
func (r *MaintenanceReport) Validate(now time.Time) error {
	var p Problems
	r.Technician = strings.TrimSpace(r.Technician)
	r.VenuePerson = strings.TrimSpace(r.VenuePerson)
	r.Notes = strings.TrimSpace(r.Notes)
	checkText(&p, "technician", r.Technician, true, 200)
	checkText(&p, "venue_person", r.VenuePerson, r.Kind == ReportRemote, 200)
	checkText(&p, "notes", r.Notes, false, 5000)
	switch {
	case r.PerformedAt.IsZero():
		p.Add("performed_at", "is required")
	case r.PerformedAt.After(now.Add(MaxClockSkew)):
		p.Add("performed_at", "must not be in the future")
	}
	switch r.Kind {
	case ReportRemote:
		r.Category = CategoryHalfMonthly
	case ReportOnSite:
		if !r.Category.Valid() {
			p.Addf("category", "must be one of %s", joinKinds(MaintenanceCategories))
		}
	default:
		p.Add("kind", "must be remote or onsite")
	}
	r.checkItems(&p)
	if r.Kind == ReportRemote {
		r.checkEvidence(&p, now)
	} else if len(r.Evidence) > 0 {
		r.checkEvidence(&p, now)
	}
	return p.Err()
}

func (r *MaintenanceReport) checkItems(p *Problems) {
	if !r.Category.Valid() {
		return
	}
	seen := map[string]bool{}
	for i, it := range r.Items {
		f := "items[" + strconv.Itoa(i) + "]"
		code := strings.ToUpper(strings.TrimSpace(it.Code))
		r.Items[i].Code = code
		r.Items[i].Note = strings.TrimSpace(it.Note)
		item, ok := ChecklistItemByCode(code)
		switch {
		case !ok:
			p.Add(f+".code", "is not a TSG T5002 checklist item (GET /api/v1/maintenance/checklist lists them)")
			continue
		case !r.Category.Covers(item.Category):
			p.Addf(f+".code", "is a %s item, not part of a %s maintenance", item.Category, r.Category)
			continue
		case seen[code]:
			p.Add(f+".code", "is listed twice")
			continue
		}
		seen[code] = true
		switch {
		case it.Result != ItemOK && it.Result != ItemNotOK && it.Result != ItemNotCheckableRemotely:
			p.Add(f+".result", "must be ok, not_ok or not_checkable_remotely")
		case it.Result == ItemNotCheckableRemotely && r.Kind != ReportRemote:
			p.Add(f+".result", "not_checkable_remotely is for remote inspections; on site every item is checked")
		case it.Result != ItemNotCheckableRemotely && r.Kind == ReportRemote && !item.Remote:
			p.Add(f+".result", "this item cannot be checked over video: report it as not_checkable_remotely")
		case it.Result == ItemNotOK && r.Items[i].Note == "":
			p.Add(f+".note", "say what is wrong")
		}
	}
	var missing []string
	for _, item := range ChecklistFor(r.Category, r.Kind == ReportRemote) {
		if !seen[item.Code] {
			missing = append(missing, item.Code)
		}
	}
	if len(missing) > 0 {
		p.Add("items", "missing a result for "+strings.Join(missing, ", "))
	}
}

func (r *MaintenanceReport) checkEvidence(p *Problems, now time.Time) {
	switch {
	case len(r.Evidence) == 0:
		p.Add("evidence", "a remote inspection needs at least one video or photo")
	case len(r.Evidence) > MaxReportEvidence:
		p.Addf("evidence", "at most %d items", MaxReportEvidence)
	}
	for i, e := range r.Evidence {
		f := "evidence[" + strconv.Itoa(i) + "]"
		e.URL = strings.TrimSpace(e.URL)
		e.SHA256 = strings.ToLower(strings.TrimSpace(e.SHA256))
		r.Evidence[i] = e
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(e.URL) > 2000 {
			p.Add(f+".url", "must be an http(s) URL of at most 2000 characters")
		}
		if !isSHA256(e.SHA256) {
			p.Add(f+".sha256", "must be the SHA-256 of the file: 64 hexadecimal digits")
		}
		if e.DurationSeconds < 0 || e.DurationSeconds > 24*3600 {
			p.Add(f+".duration_s", "must be between 0 (a photo) and 86400 seconds")
		}
		switch {
		case e.CapturedAt.IsZero():
			p.Add(f+".captured_at", "is required")
		case e.CapturedAt.After(now.Add(MaxClockSkew)):
			p.Add(f+".captured_at", "must not be in the future")
		case !r.PerformedAt.IsZero() && (e.CapturedAt.Before(r.PerformedAt.Add(-24*time.Hour)) || e.CapturedAt.After(r.PerformedAt.Add(24*time.Hour))):
			p.Add(f+".captured_at", "must be within a day of performed_at")
		}
	}
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Package certificate renders calibration certificates as PDF documents
// carrying the content ISO/IEC 17025:2017 §7.8.2 (all reports) and §7.8.4.1
// (calibration certificates) require; see DOMAIN.md §2.2 and §2.3.
//
// The package has its own input types, which the caller fills from the
// domain: it neither stores nor decides anything. Validate checks that a
// Certificate is complete and self-consistent; PDF validates and renders.
//
// # Text encoding
//
// The PDF uses the standard Helvetica core font, whose encoding is cp1252
// (Windows Latin 1). Text is translated from UTF-8 with fpdf's cp1252
// translator, so "°C", "±", accented Latin letters and typographic quotes
// print correctly. Runes cp1252 cannot hold (Chinese names, the minus sign
// U+2212, combining marks, invalid UTF-8) are printed as '?' rather than
// failing the render; callers that need such names legible should also
// supply a transliteration (pinyin) in the same field. Control characters
// become spaces; line breaks are kept in multi-line fields (addresses, notes).
//
// # Determinism
//
// The same Certificate always renders to the same bytes: the PDF creation
// and modification dates are the issue time (UTC), resource catalogs are
// sorted and nothing random or clock-based is written, so a certificate can
// be downloaded again byte-identical.
package certificate

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// Title is printed at the top of every page (§7.8.2.1 a).
const Title = "Calibration certificate"

// DefaultTracedTo completes the traceability statement when
// Traceability.TracedTo is empty.
const DefaultTracedTo = "the national measurement standard of temperature (ITS-90)"

// Certificate is everything printed on one calibration certificate. All
// temperatures are in °C. Fields are required unless their comment says
// otherwise.
type Certificate struct {
	// Number identifies the certificate uniquely; it is printed on every
	// page with "page X of Y" and in the end-of-certificate marker.
	Number string `json:"number"`
	// Revision is set when this certificate corrects and replaces an
	// earlier one (§7.8.8); nil for an original issue.
	Revision *Revision `json:"revision,omitempty"`

	// Laboratory is the issuing laboratory.
	Laboratory Party `json:"laboratory"`
	// Site is where the calibration was done when that is not the
	// laboratory, e.g. on site at the venue; nil means at the laboratory.
	Site *Party `json:"site,omitempty"`
	// Customer is the venue operator that ordered the calibration (the
	// address is optional).
	Customer Party `json:"customer"`

	// Method names the method document, e.g. "JJF 1107-2003".
	Method string `json:"method"`
	// Item is the instrument calibrated.
	Item Item `json:"item"`

	// ReceivedOn is the date the item was received or, on site, the date
	// of the visit.
	ReceivedOn time.Time `json:"received_on"`
	// CalibratedOn is the date of calibration.
	CalibratedOn time.Time `json:"calibrated_on"`
	// IssuedAt is the time of issue; it is also the PDF's creation and
	// modification date.
	IssuedAt time.Time `json:"issued_at"`

	// Results are the test points in the order they are printed.
	Results []Point `json:"results"`
	// Adjustment says what was adjusted or repaired; empty when the item
	// was not adjusted. When set, every point needs AsLeft (§7.8.4.1 d).
	Adjustment string `json:"adjustment"`
	// UncertaintyNote is optional text appended to the standard
	// uncertainty statement (e.g. the main contributions).
	UncertaintyNote string `json:"uncertainty_note"`
	// Ambient are the environmental conditions during calibration.
	Ambient *Ambient `json:"ambient,omitempty"`
	// Traceability names the reference standard used.
	Traceability Traceability `json:"traceability"`
	// Conformity is the statement of conformity; nil when none is made,
	// in which case no point may carry a verdict.
	Conformity *Conformity `json:"conformity,omitempty"`
	// Signatory authorised the certificate.
	Signatory Signatory `json:"signatory"`
}

// Revision identifies the certificate this one replaces and why.
type Revision struct {
	Replaces string `json:"replaces"` // number of the replaced certificate
	Reason   string `json:"reason"`
}

// Party is an organization with an address. Address may hold line breaks.
type Party struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Item describes the instrument calibrated and its condition.
type Item struct {
	Type         string `json:"type"` // e.g. "Infrared ear thermometer"
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	Serial       string `json:"serial"`
	// Location is an optional note on where the item is kept or used,
	// e.g. "entrance B, security desk".
	Location string `json:"location"`
	// Condition is the condition on receipt or at the visit, e.g.
	// "no visible damage, probe cover fitted".
	Condition string `json:"condition"`
}

// Point is one test point: the reference temperature and the item's
// readings at it before (AsFound) and after (AsLeft) adjustment.
type Point struct {
	ReferenceC float64 `json:"reference_c"`
	AsFound    Reading `json:"as_found"`
	// AsLeft is required when the certificate records an adjustment and
	// must be nil otherwise.
	AsLeft *Reading `json:"as_left,omitempty"`
}

// Reading is the item's result at one test point.
type Reading struct {
	MeanC  float64 `json:"mean_c"`  // mean indication
	ErrorC float64 `json:"error_c"` // mean indication minus reference
	UC     float64 `json:"u_c"`     // expanded uncertainty U, coverage factor k = 2
	// Verdict is required when the certificate has a Conformity statement
	// and must be empty otherwise.
	Verdict Verdict `json:"verdict"`
}

// Ambient are the conditions during calibration.
type Ambient struct {
	TemperatureC        float64 `json:"temperature_c"`
	RelativeHumidityPct float64 `json:"relative_humidity_pct"`
}

// Traceability is the reference standard through which the results are
// traceable (§7.8.4.1 c; DOMAIN.md §2.4).
type Traceability struct {
	StandardName   string    `json:"standard_name"` // e.g. "Blackbody radiation source BB-37"
	StandardSerial string    `json:"standard_serial"`
	CertificateNo  string    `json:"certificate_no"` // the standard's own calibration certificate
	DueDate        time.Time `json:"due_date"`       // when the standard's calibration expires
	// TracedTo is optional; empty means DefaultTracedTo.
	TracedTo string `json:"traced_to"`
}

// DecisionRule names the decision rule of a conformity statement. The
// values are those of devices.DecisionRule.
type DecisionRule string

// Decision rules (DOMAIN.md §2.3).
const (
	RuleSimpleAcceptance DecisionRule = "simple_acceptance"
	RuleGuardBand        DecisionRule = "guard_band"
	RuleJJF1094          DecisionRule = "jjf1094"
)

// Verdict is the conformity of one reading. The values are those of
// devices.Verdict.
type Verdict string

// Verdicts.
const (
	VerdictPass          Verdict = "pass"
	VerdictFail          Verdict = "fail"
	VerdictIndeterminate Verdict = "indeterminate"
)

// Basis says which results a conformity statement covers.
type Basis string

// Bases.
const (
	BasisAsFound Basis = "as_found"
	BasisAsLeft  Basis = "as_left" // only when the item was adjusted
)

// Conformity is a statement of conformity to a specification (§7.8.6).
type Conformity struct {
	Rule DecisionRule `json:"rule"`
	// MPEC is the maximum permissible error, ± °C.
	MPEC float64 `json:"mpe_c"`
	// Specification optionally names the document the MPE comes from,
	// e.g. "JJF 1107-2003 §5.1".
	Specification string `json:"specification"`
	// Covers says which results the statement covers: the as-found or the
	// as-left results, at every test point.
	Covers Basis `json:"covers"`
}

// Signatory is who authorised the certificate: a person, or for
// certificates issued through the API the issuing organization and the
// name of its token.
type Signatory struct {
	Name string `json:"name"`
	Role string `json:"role"` // optional, e.g. "Technical manager" or "API token"
}

// Validate reports every missing or inconsistent field of c as a
// *devices.ValidationError, or nil when c can be issued. Field names are
// snake_case paths such as "item.serial" or "results[2].as_found.verdict".
//
// Besides presence it checks that numbers are finite, the dates run
// receipt ≤ calibration ≤ issue, the reference standard was not overdue on
// the calibration date, as-left results exist exactly when an adjustment
// is recorded, and every verdict is the one the decision rule gives for
// its error, U and the MPE (devices.Decide).
func Validate(c Certificate) error {
	var p devices.Problems
	required := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			p.Add(field, "required")
		}
	}
	requiredTime := func(field string, t time.Time) {
		if t.IsZero() {
			p.Add(field, "required")
		}
	}

	required("number", c.Number)
	if r := c.Revision; r != nil {
		required("revision.replaces", r.Replaces)
		required("revision.reason", r.Reason)
		if strings.TrimSpace(r.Replaces) != "" && strings.TrimSpace(r.Replaces) == strings.TrimSpace(c.Number) {
			p.Add("revision.replaces", "must differ from the certificate number")
		}
	}
	required("laboratory.name", c.Laboratory.Name)
	required("laboratory.address", c.Laboratory.Address)
	if c.Site != nil {
		required("site.name", c.Site.Name)
		required("site.address", c.Site.Address)
	}
	required("customer.name", c.Customer.Name)
	required("method", c.Method)
	required("item.type", c.Item.Type)
	required("item.manufacturer", c.Item.Manufacturer)
	required("item.model", c.Item.Model)
	required("item.serial", c.Item.Serial)
	required("item.condition", c.Item.Condition)

	requiredTime("received_on", c.ReceivedOn)
	requiredTime("calibrated_on", c.CalibratedOn)
	requiredTime("issued_at", c.IssuedAt)
	if !c.ReceivedOn.IsZero() && !c.CalibratedOn.IsZero() && day(c.ReceivedOn) > day(c.CalibratedOn) {
		p.Add("received_on", "after the calibration date")
	}
	if !c.CalibratedOn.IsZero() && !c.IssuedAt.IsZero() && day(c.CalibratedOn) > day(c.IssuedAt) {
		p.Add("issued_at", "before the calibration date")
	}

	if c.Ambient == nil {
		p.Add("ambient", "required")
	} else {
		if !finite(c.Ambient.TemperatureC) {
			p.Add("ambient.temperature_c", "must be a finite number")
		}
		if rh := c.Ambient.RelativeHumidityPct; !finite(rh) || rh <= 0 || rh > 100 {
			p.Add("ambient.relative_humidity_pct", "must be above 0 and at most 100")
		}
	}

	t := c.Traceability
	required("traceability.standard_name", t.StandardName)
	required("traceability.standard_serial", t.StandardSerial)
	required("traceability.certificate_no", t.CertificateNo)
	requiredTime("traceability.due_date", t.DueDate)
	if !t.DueDate.IsZero() && !c.CalibratedOn.IsZero() && day(t.DueDate) < day(c.CalibratedOn) {
		p.Add("traceability.due_date", "the reference standard was overdue on the calibration date")
	}

	conf := c.Conformity
	if conf != nil {
		switch conf.Rule {
		case RuleSimpleAcceptance, RuleGuardBand, RuleJJF1094:
		case "":
			p.Add("conformity.rule", "required")
		default:
			p.Add("conformity.rule", "unknown decision rule")
		}
		if !finite(conf.MPEC) || conf.MPEC <= 0 {
			p.Add("conformity.mpe_c", "must be positive")
		}
		switch conf.Covers {
		case BasisAsFound:
		case BasisAsLeft:
			if c.Adjustment == "" {
				p.Add("conformity.covers", "as-left results exist only when an adjustment is recorded")
			}
		case "":
			p.Add("conformity.covers", "required")
		default:
			p.Add("conformity.covers", "must be as_found or as_left")
		}
	}

	if len(c.Results) == 0 {
		p.Add("results", "at least one test point is required")
	}
	adjusted := strings.TrimSpace(c.Adjustment) != ""
	for i, pt := range c.Results {
		prefix := "results[" + strconv.Itoa(i) + "]"
		if !finite(pt.ReferenceC) {
			p.Add(prefix+".reference_c", "must be a finite number")
		}
		checkReading(&p, prefix+".as_found", pt.AsFound, conf)
		switch {
		case adjusted && pt.AsLeft == nil:
			p.Add(prefix+".as_left", "required when an adjustment is recorded")
		case !adjusted && pt.AsLeft != nil:
			p.Add(prefix+".as_left", "set but no adjustment is recorded")
		case pt.AsLeft != nil:
			checkReading(&p, prefix+".as_left", *pt.AsLeft, conf)
		}
	}

	required("signatory.name", c.Signatory.Name)
	return p.Err()
}

func checkReading(p *devices.Problems, prefix string, r Reading, conf *Conformity) {
	if !finite(r.MeanC) {
		p.Add(prefix+".mean_c", "must be a finite number")
	}
	if !finite(r.ErrorC) {
		p.Add(prefix+".error_c", "must be a finite number")
	}
	if !finite(r.UC) || r.UC <= 0 {
		p.Add(prefix+".u_c", "must be positive")
	}
	if conf == nil {
		if r.Verdict != "" {
			p.Add(prefix+".verdict", "set but the certificate has no conformity statement")
		}
		return
	}
	switch r.Verdict {
	case VerdictPass, VerdictFail, VerdictIndeterminate:
	case "":
		p.Add(prefix+".verdict", "required with a conformity statement")
		return
	default:
		p.Add(prefix+".verdict", "must be pass, fail or indeterminate")
		return
	}
	want := devices.Decide(r.ErrorC, r.UC, conf.MPEC, devices.DecisionRule(conf.Rule))
	if devices.DecisionRule(conf.Rule).Valid() && finite(conf.MPEC) && conf.MPEC > 0 && string(want) != string(r.Verdict) {
		p.Addf(prefix+".verdict", "the decision rule gives %s for this error and uncertainty", want)
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// day is t's calendar date in its own location, as a sortable string.
func day(t time.Time) string { return t.Format(time.DateOnly) }

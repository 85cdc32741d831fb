package certificate

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

var cst = time.FixedZone("CST", 8*3600)

// sample is a complete on-site certificate with n as-found points under
// JJF 1094 and an MPE of 0.3 °C.
func sample(n int) Certificate {
	points := make([]Point, n)
	for i := range points {
		ref := 35.0 + 0.25*float64(i)
		e := 0.05 * float64(i%5-2) // -0.10 .. +0.10
		points[i] = Point{
			ReferenceC: ref,
			AsFound:    Reading{MeanC: ref + e, ErrorC: e, UC: 0.08, Verdict: VerdictPass},
		}
	}
	return Certificate{
		Number:     "CAL-2020-000123",
		Laboratory: Party{Name: "Calibd Metrology Lab", Address: "1 Test Road\nHaidian, Beijing"},
		Site:       &Party{Name: "Wanda Plaza (万达广场)", Address: "93 Jianguo Road, Chaoyang, Beijing"},
		Customer:   Party{Name: "北京万达商业管理有限公司 (Beijing Wanda Commercial Management)"},
		Method:     "JJF 1107-2003 Calibration specification for infrared ear thermometers",
		Item: Item{
			Type: "Infrared forehead thermometer", Manufacturer: "Acme", Model: "IR-100",
			Serial: "SN-4711", Location: "entrance B; security desk", Condition: "no visible damage",
		},
		ReceivedOn:   time.Date(2020, 3, 2, 0, 0, 0, 0, cst),
		CalibratedOn: time.Date(2020, 3, 2, 0, 0, 0, 0, cst),
		IssuedAt:     time.Date(2020, 3, 3, 9, 30, 0, 0, cst),
		Results:      points,
		Ambient:      &Ambient{TemperatureC: 23.4, RelativeHumidityPct: 46},
		Traceability: Traceability{
			StandardName: "Blackbody source BB-37", StandardSerial: "BB37-0042",
			CertificateNo: "NIM-T-2019-8812", DueDate: time.Date(2020, 9, 30, 0, 0, 0, 0, cst),
		},
		Conformity: &Conformity{Rule: RuleJJF1094, MPEC: 0.3, Specification: "JJF 1107-2003", Covers: BasisAsFound},
		Signatory:  Signatory{Name: "Li Wei", Role: "Technical manager"},
	}
}

// adjusted turns c into a certificate with an adjustment and as-left
// results, the conformity statement covering the as-left results.
func adjusted(c Certificate) Certificate {
	c.Adjustment = "Emissivity offset corrected by -0.20 °C."
	pts := slices.Clone(c.Results)
	for i := range pts {
		pts[i].AsFound.MeanC += 0.2
		pts[i].AsFound.ErrorC += 0.2
		pts[i].AsFound.Verdict = Verdict(devices.Decide(pts[i].AsFound.ErrorC, pts[i].AsFound.UC, 0.3, devices.RuleJJF1094))
		pts[i].AsLeft = &Reading{MeanC: pts[i].ReferenceC + 0.01, ErrorC: 0.01, UC: 0.08, Verdict: VerdictPass}
	}
	c.Results = pts
	c.Conformity.Covers = BasisAsLeft
	return c
}

// fieldsOf returns the field names of a *devices.ValidationError.
func fieldsOf(tb testing.TB, err error) []string {
	tb.Helper()
	var ve *devices.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("error %v (%T) is not a *devices.ValidationError", err, err)
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidateComplete(t *testing.T) {
	for name, c := range map[string]Certificate{
		"on site":       sample(5),
		"at laboratory": func() Certificate { c := sample(5); c.Site = nil; return c }(),
		"adjusted":      adjusted(sample(5)),
		"no conformity": func() Certificate {
			c := sample(3)
			c.Conformity = nil
			for i := range c.Results {
				c.Results[i].AsFound.Verdict = ""
			}
			return c
		}(),
		"revision": func() Certificate {
			c := sample(3)
			c.Revision = &Revision{Replaces: "CAL-2020-000122", Reason: "serial number misprinted"}
			return c
		}(),
	} {
		if err := Validate(c); err != nil {
			t.Errorf("%s: Validate = %v, want nil", name, err)
		}
	}
}

func TestValidateEmptyNamesEveryRequiredField(t *testing.T) {
	got := fieldsOf(t, Validate(Certificate{}))
	want := []string{
		"number", "laboratory.name", "laboratory.address", "customer.name", "method",
		"item.type", "item.manufacturer", "item.model", "item.serial", "item.condition",
		"received_on", "calibrated_on", "issued_at", "ambient",
		"traceability.standard_name", "traceability.standard_serial",
		"traceability.certificate_no", "traceability.due_date",
		"results", "signatory.name",
	}
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("Validate(Certificate{}) fields %v lack %q", got, f)
		}
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Certificate)
		want   []string
	}{
		{"blank strings", func(c *Certificate) { c.Number = "  "; c.Item.Serial = "" }, []string{"number", "item.serial"}},
		{"site incomplete", func(c *Certificate) { c.Site = &Party{Name: "Mall"} }, []string{"site.address"}},
		{"revision incomplete", func(c *Certificate) { c.Revision = &Revision{Replaces: c.Number} },
			[]string{"revision.replaces", "revision.reason"}},
		{"dates out of order", func(c *Certificate) {
			c.ReceivedOn = c.CalibratedOn.AddDate(0, 0, 1)
			c.IssuedAt = c.CalibratedOn.AddDate(0, 0, -1)
		}, []string{"received_on", "issued_at"}},
		{"standard overdue", func(c *Certificate) { c.Traceability.DueDate = c.CalibratedOn.AddDate(0, 0, -1) },
			[]string{"traceability.due_date"}},
		{"ambient out of range", func(c *Certificate) { c.Ambient = &Ambient{TemperatureC: math.NaN(), RelativeHumidityPct: 0} },
			[]string{"ambient.temperature_c", "ambient.relative_humidity_pct"}},
		{"bad numbers", func(c *Certificate) {
			c.Results[1].ReferenceC = math.Inf(1)
			c.Results[1].AsFound.UC = 0
			c.Results[2].AsFound.MeanC = math.NaN()
		}, []string{"results[1].reference_c", "results[1].as_found.u_c", "results[2].as_found.mean_c"}},
		{"verdict contradicts rule", func(c *Certificate) { c.Results[0].AsFound.Verdict = VerdictFail },
			[]string{"results[0].as_found.verdict"}},
		{"verdict missing", func(c *Certificate) { c.Results[3].AsFound.Verdict = "" },
			[]string{"results[3].as_found.verdict"}},
		{"verdict without conformity", func(c *Certificate) { c.Conformity = nil },
			[]string{"results[0].as_found.verdict"}},
		{"conformity incomplete", func(c *Certificate) { c.Conformity = &Conformity{Rule: "lenient"} },
			[]string{"conformity.rule", "conformity.mpe_c", "conformity.covers"}},
		{"as-left without adjustment", func(c *Certificate) {
			c.Results[0].AsLeft = &Reading{MeanC: 35, ErrorC: 0, UC: 0.08, Verdict: VerdictPass}
			c.Conformity.Covers = BasisAsLeft
		}, []string{"results[0].as_left", "conformity.covers"}},
		{"adjustment without as-left", func(c *Certificate) { c.Adjustment = "offset corrected" },
			[]string{"results[0].as_left", "results[4].as_left"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sample(5)
			tt.mutate(&c)
			got := fieldsOf(t, Validate(c))
			for _, f := range tt.want {
				if !slices.Contains(got, f) {
					t.Errorf("Validate fields = %v, want %q among them", got, f)
				}
			}
		})
	}
}

func TestPDFRejectsInvalid(t *testing.T) {
	c := sample(3)
	c.Signatory.Name = ""
	out, err := PDF(c)
	if err == nil || out != nil {
		t.Fatalf("PDF(invalid) = %d bytes, %v; want nil, error", len(out), err)
	}
	if got := fieldsOf(t, err); !slices.Contains(got, "signatory.name") {
		t.Errorf("PDF error fields = %v, want signatory.name", got)
	}
}

func TestErrorMessageNamesFields(t *testing.T) {
	err := Validate(Certificate{Number: "X"})
	if err == nil || !strings.Contains(err.Error(), "item.serial: required") {
		t.Errorf("Validate error = %v, want it to name item.serial", err)
	}
}

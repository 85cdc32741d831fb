package devices_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// FuzzReportValidate: whatever a firm sends, Validate never panics, and a
// report it passes is one the effects can rely on: every item is a known
// item of the category with a known result, every remote-checkable item of
// a remote inspection has a result, and every piece of evidence has a
// SHA-256.
func FuzzReportValidate(f *testing.F) {
	now := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	seed := func(r devices.MaintenanceReport) {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ok := devices.MaintenanceReport{Kind: devices.ReportRemote, PerformedAt: now.Add(-time.Hour), Technician: "t", VenuePerson: "p",
		Items: remoteItems(), Evidence: []devices.Evidence{{URL: "https://x.example/v", SHA256: strings.Repeat("0", 64), CapturedAt: now}}}
	seed(ok)
	seed(devices.MaintenanceReport{Kind: devices.ReportOnSite, Category: devices.CategoryAnnual, PerformedAt: now, Technician: "t"})
	f.Add([]byte(`{"Kind":"remote","Items":[{"Code":"hm01","Result":"ok"},{"Code":"","Result":""}],"Evidence":[{"URL":"http://"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r devices.MaintenanceReport
		if json.Unmarshal(data, &r) != nil {
			return
		}
		err := r.Validate(now)
		var ve *devices.ValidationError
		if err != nil {
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("Validate = %v, want a ValidationError naming fields", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, it := range r.Items {
			item, found := devices.ChecklistItemByCode(it.Code)
			if !found || !r.Category.Covers(item.Category) || seen[it.Code] {
				t.Fatalf("passed item %+v in a %s report", it, r.Category)
			}
			seen[it.Code] = true
		}
		for _, item := range devices.ChecklistFor(r.Category, r.Kind == devices.ReportRemote) {
			if !seen[item.Code] {
				t.Fatalf("passed a %s report without %s", r.Kind, item.Code)
			}
		}
		for _, e := range r.Evidence {
			if len(e.SHA256) != 64 {
				t.Fatalf("passed evidence without a SHA-256: %+v", e)
			}
		}
		if r.Kind == devices.ReportRemote && len(r.Evidence) == 0 {
			t.Fatal("passed a remote inspection without evidence")
		}
	})
}

// FuzzDeferralValidate: Validate never panics; a deferral it passes has a
// window that does not end before it starts and a scope of known types,
// digit region codes and UUID venues.
func FuzzDeferralValidate(f *testing.F) {
	f.Add([]byte(`{"Name":"n","Reason":"r","WindowFrom":"2027-01-01","WindowTo":"2027-02-01","ExtendDays":90,"Types":["ir_ear"],"RegionCodes":["310000"]}`))
	f.Add([]byte(`{"Name":"n","Reason":"r","WindowFrom":"2027-02-01","WindowTo":"2027-01-01","VenueIDs":["x"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d devices.Deferral
		if json.Unmarshal(data, &d) != nil {
			return
		}
		if err := d.Validate(); err != nil {
			var ve *devices.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("Validate = %v, want a ValidationError naming fields", err)
			}
			return
		}
		if d.WindowTo < d.WindowFrom || d.ExtendDays < 0 {
			t.Fatalf("passed %+v", d)
		}
		for _, ty := range d.Types {
			if !ty.Valid() {
				t.Fatalf("passed type %q", ty)
			}
		}
		for _, v := range d.VenueIDs {
			if !devices.IsUUID(v) {
				t.Fatalf("passed venue %q", v)
			}
		}
		for _, c := range d.RegionCodes {
			if strings.Trim(c, "0123456789") != "" || devices.RegionPrefix(c) == "" {
				t.Fatalf("passed region %q", c)
			}
		}
	})
}

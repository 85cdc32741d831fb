package certificate

import (
	"fmt"

	"github.com/calibd/calibd/devices"
)

var typeNames = map[devices.ThermometerType]string{
	devices.TypeIREar: "Infrared ear thermometer", devices.TypeIRForehead: "Infrared forehead (skin) thermometer",
	devices.TypeIRScreening: "Infrared rapid screening thermograph", devices.TypeMedicalContact: "Medical electronic thermometer",
}

// FromParties maps a result and its parties onto the certificate's
// ISO/IEC 17025 §7.8 contents.
func FromParties(p devices.CertificateParties) Certificate {
	r, th := p.Result, p.Thermometer
	cert := Certificate{
		Number:     r.CertificateNo,
		Laboratory: Party{Name: p.InstituteName, Address: p.InstituteRegion},
		Site:       &Party{Name: p.VenueName, Address: p.VenueAddress},
		Customer:   Party{Name: p.OperatorName},
		Method:     r.MethodDoc,
		Item: Item{Type: typeNames[th.Type], Manufacturer: th.Manufacturer, Model: th.Model, Serial: th.Serial,
			Location: th.LocationNote, Condition: "in use at the venue; calibrated in " + string(r.Data.Mode) + " mode"},
		ReceivedOn:   r.PerformedAt,
		CalibratedOn: r.PerformedAt,
		IssuedAt:     r.IssuedAt,
		// The certificate's standard uncertainty paragraph already states
		// k = 2 and the 95 % coverage; calibd adds no note of its own.
		Ambient: &Ambient{TemperatureC: r.Data.Ambient.TempC, RelativeHumidityPct: r.Data.Ambient.RHPercent},
		Traceability: Traceability{StandardName: p.StandardName, StandardSerial: p.StandardSerial,
			CertificateNo: r.StandardCertificateNo, DueDate: r.StandardDueAt, TracedTo: DefaultTracedTo},
		Conformity: &Conformity{Rule: DecisionRule(r.Data.Rule), MPEC: r.Data.MPEC,
			Specification: fmt.Sprintf("maximum permissible error ±%.2f °C (%s)", r.Data.MPEC, th.ToleranceProfile),
			Covers:        BasisAsFound},
		Signatory: Signatory{Name: p.InstituteName, Role: "issued through calibd by token " + p.SignedBy},
	}
	// calibd keeps no postal address for institutes (and a venue's is
	// optional): say so rather than leave the field blank.
	if cert.Laboratory.Address == "" {
		cert.Laboratory.Address = "no address registered in calibd"
	} else {
		cert.Laboratory.Address = "region " + cert.Laboratory.Address
	}
	if cert.Site.Address == "" {
		cert.Site.Address = "no address registered in calibd"
	}
	if cert.Item.Type == "" {
		cert.Item.Type = string(th.Type)
	}
	if r.Data.Adjusted {
		cert.Adjustment = "The instrument was adjusted; results are given before (as found) and after (as left) adjustment."
		cert.Conformity.Covers = BasisAsLeft
	}
	for i, pt := range r.Data.Points {
		cp := Point{ReferenceC: pt.ReferenceC}
		if i < len(r.AsFound) {
			cp.AsFound = Reading{MeanC: pt.ReferenceC + r.AsFound[i].ErrorC, ErrorC: r.AsFound[i].ErrorC, UC: pt.UC,
				Verdict: Verdict(r.AsFound[i].Verdict)}
		}
		if r.Data.Adjusted && i < len(r.AsLeft) {
			cp.AsLeft = &Reading{MeanC: pt.ReferenceC + r.AsLeft[i].ErrorC, ErrorC: r.AsLeft[i].ErrorC, UC: pt.UC,
				Verdict: Verdict(r.AsLeft[i].Verdict)}
		}
		cert.Results = append(cert.Results, cp)
	}
	if r.ReplacesID != nil {
		cert.Revision = &Revision{Replaces: p.ReplacesNo, Reason: r.CorrectionReason}
	}
	return cert
}

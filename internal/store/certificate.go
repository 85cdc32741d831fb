package store

import (
	"context"

	"github.com/calibd/calibd/devices"
)

// CertificateOf implements devices.CertificateStore: the result is read
// through its tenancy scope; the rest is read by the ids it names.
func (s *Store) CertificateOf(ctx context.Context, a devices.Actor, resultID string) (devices.CertificateParties, error) {
	var out devices.CertificateParties
	r, err := s.GetResult(ctx, a, resultID)
	if err != nil {
		return out, err
	}
	out.Result = r
	q := s.db.WithContext(ctx)
	var th thermometerRow
	if err := q.Scopes(withVenueZone).Where("thermometers.id = ?", r.ThermometerID).Take(&th).Error; err != nil {
		return out, err
	}
	if out.Thermometer, err = th.toThermometer(); err != nil {
		return out, err
	}
	var venue venueRow
	if err := q.Where("id = ?", r.VenueID).Take(&venue).Error; err != nil {
		return out, err
	}
	out.VenueName, out.VenueAddress = venue.Name, venue.Address
	var orgs []orgRow
	if err := q.Where("id IN ?", []string{r.OperatorOrgID, r.InstituteID}).Find(&orgs).Error; err != nil {
		return out, err
	}
	for _, o := range orgs {
		switch o.ID {
		case r.OperatorOrgID:
			out.OperatorName = o.Name
		case r.InstituteID:
			out.InstituteName, out.InstituteRegion = o.Name, o.RegionCode
		}
	}
	var std struct{ Name, Serial string }
	if err := q.Table("reference_standards").Select("name, serial").Where("id = ?", r.StandardID).Take(&std).Error; err != nil {
		return out, err
	}
	out.StandardName, out.StandardSerial = std.Name, std.Serial
	if r.IssuedByToken != "" {
		var tok tokenRow
		if err := q.Where("id = ?", r.IssuedByToken).Limit(1).Find(&tok).Error; err != nil {
			return out, err
		}
		out.SignedBy = tok.Name
	}
	if r.ReplacesID != nil {
		var prev struct{ CertificateNo string }
		if err := q.Table("calibration_results").Select("certificate_no").Where("id = ?", *r.ReplacesID).Take(&prev).Error; err != nil {
			return out, err
		}
		out.ReplacesNo = prev.CertificateNo
	}
	return out, nil
}

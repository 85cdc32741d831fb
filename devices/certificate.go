package devices

import "context"

// CertificateParties is what a certificate names beside its result: the
// item, where it was calibrated, for whom, by whom and against what. It is
// gathered under the result's own visibility: whoever may read the result
// may read its certificate.
type CertificateParties struct {
	Result          CalibrationResult
	Thermometer     Thermometer
	VenueName       string
	VenueAddress    string
	OperatorName    string // the customer
	InstituteName   string // the laboratory
	InstituteRegion string
	StandardName    string
	StandardSerial  string
	SignedBy        string // the issuing token's name
	ReplacesNo      string // the certificate number a correction replaces
}

// CertificateStore gathers a result's certificate.
type CertificateStore interface {
	CertificateOf(ctx context.Context, a Actor, resultID string) (CertificateParties, error)
}

package certificate

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// Options tune rendering. The zero value is what PDF uses.
type Options struct {
	// Uncompressed leaves the page content streams uncompressed so that
	// tests can read the printed text.
	Uncompressed bool
}

// PDF validates c (see Validate) and renders it as an A4 PDF document.
func PDF(c Certificate) ([]byte, error) {
	return Render(c, Options{})
}

// Render is PDF with options.
func Render(c Certificate, o Options) ([]byte, error) {
	if err := Validate(c); err != nil {
		return nil, err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	r := &renderer{pdf: pdf, c: c, glyphs: map[rune]string{}}
	r.tr = pdf.UnicodeTranslatorFromDescriptor("")
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("load cp1252 translator: %w", err)
	}
	r.setup(o)
	r.body()
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render certificate %s: %w", c.Number, err)
	}
	return buf.Bytes(), nil
}

// Page geometry in millimetres (A4 portrait).
const (
	pageW     = 210.0
	pageH     = 297.0
	margin    = 15.0
	bottom    = 20.0 // automatic page break this far from the bottom edge
	contentW  = pageW - 2*margin
	labelW    = 48.0
	lineH     = 4.8
	rowH      = 6.0
	fontName  = "Helvetica"
	bodySize  = 9.0
	smallSize = 8.0
)

type renderer struct {
	pdf    *fpdf.Fpdf
	c      Certificate
	tr     func(string) string
	glyphs map[rune]string // rune -> its cp1252 byte, or "?"
}

func (r *renderer) setup(o Options) {
	pdf, c := r.pdf, r.c
	pdf.SetCompression(!o.Uncompressed)
	// Fixed dates and sorted catalogs make the output byte-identical for
	// the same input.
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(c.IssuedAt.UTC())
	pdf.SetModificationDate(c.IssuedAt.UTC())
	pdf.SetTitle(Title+" "+c.Number, true)
	pdf.SetAuthor(c.Laboratory.Name, true)
	pdf.SetCreator("calibd", false)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, bottom)
	pdf.AliasNbPages("{nb}")

	number := r.line(c.Number)
	lab := r.line(c.Laboratory.Name) + " - " + r.line(c.Laboratory.Address)
	pdf.SetHeaderFunc(func() {
		pdf.SetFont(fontName, "B", 14)
		pdf.CellFormat(110, 8, Title, "", 0, "L", false, 0, "")
		pdf.SetFont(fontName, "B", 10)
		pdf.CellFormat(contentW-110, 8, "No. "+number, "", 1, "R", false, 0, "")
		pdf.SetFont(fontName, "", smallSize)
		pdf.MultiCell(contentW, 4, lab, "", "L", false)
		y := pdf.GetY() + 1
		pdf.Line(margin, y, pageW-margin, y)
		pdf.SetY(y + 3)
	})
	pdf.SetFooterFunc(func() {
		pdf.SetY(-bottom + 5)
		y := pdf.GetY()
		pdf.Line(margin, y, pageW-margin, y)
		pdf.SetFont(fontName, "", smallSize)
		pdf.CellFormat(contentW/2, 5, "Certificate No. "+number, "", 0, "L", false, 0, "")
		pdf.CellFormat(contentW/2, 5, "page "+strconv.Itoa(pdf.PageNo())+" of {nb}", "", 0, "R", false, 0, "")
	})
}

func (r *renderer) body() {
	pdf, c := r.pdf, r.c
	pdf.AddPage()

	if rev := c.Revision; rev != nil {
		pdf.SetFont(fontName, "B", bodySize)
		pdf.MultiCell(contentW, lineH+0.4, r.text(fmt.Sprintf(
			"Revised certificate: this certificate replaces certificate %s, which is withdrawn. Reason: %s",
			c.Revision.Replaces, c.Revision.Reason)), "1", "L", false)
		pdf.Ln(2)
	}

	r.field("Laboratory", c.Laboratory.Name+"\n"+c.Laboratory.Address)
	if c.Site != nil {
		r.field("Site of calibration", "On site: "+c.Site.Name+"\n"+c.Site.Address)
	} else {
		r.field("Site of calibration", "At the laboratory (address above)")
	}
	customer := c.Customer.Name
	if strings.TrimSpace(c.Customer.Address) != "" {
		customer += "\n" + c.Customer.Address
	}
	r.field("Customer", customer)
	r.field("Item", c.Item.Type)
	r.field("Manufacturer / model", c.Item.Manufacturer+" / "+c.Item.Model)
	r.field("Serial number", c.Item.Serial)
	if strings.TrimSpace(c.Item.Location) != "" {
		r.field("Location", c.Item.Location)
	}
	r.field("Condition of item", c.Item.Condition)
	r.field("Method", c.Method)
	if c.Site != nil {
		r.field("Date of visit", date(c.ReceivedOn))
	} else {
		r.field("Date of receipt", date(c.ReceivedOn))
	}
	r.field("Date of calibration", date(c.CalibratedOn))
	r.field("Date of issue", date(c.IssuedAt))
	r.field("Ambient conditions", fmt.Sprintf("temperature %s °C, relative humidity %s %%",
		strconv.FormatFloat(c.Ambient.TemperatureC, 'f', 1, 64),
		strconv.FormatFloat(c.Ambient.RelativeHumidityPct, 'f', 0, 64)))

	adjusted := strings.TrimSpace(c.Adjustment) != ""
	if adjusted {
		r.heading("Results before adjustment (as found)")
	} else {
		r.heading("Calibration results")
	}
	r.table("As-found mean", func(p Point) Reading { return p.AsFound })
	if adjusted {
		r.heading("Adjustment")
		r.para(c.Adjustment)
		r.heading("Results after adjustment (as left)")
		r.table("As-left mean", func(p Point) Reading { return *p.AsLeft })
	}
	pdf.SetFont(fontName, "", smallSize)
	r.para("Error = mean indication - reference temperature. U is the expanded uncertainty of measurement " +
		"with coverage factor k = 2. All values in °C.")

	r.heading("Measurement uncertainty")
	unc := "The reported expanded uncertainty of measurement U is the standard uncertainty of measurement " +
		"multiplied by the coverage factor k = 2, which for a normal distribution corresponds to a coverage " +
		"probability of approximately 95 %. The standard uncertainty was evaluated in accordance with " +
		"JCGM 100:2008 (GUM)."
	if note := strings.TrimSpace(c.UncertaintyNote); note != "" {
		unc += " " + note
	}
	r.para(unc)

	r.heading("Metrological traceability")
	t := c.Traceability
	tracedTo := t.TracedTo
	if strings.TrimSpace(tracedTo) == "" {
		tracedTo = DefaultTracedTo
	}
	r.para(fmt.Sprintf("The results are metrologically traceable to %s through the reference standard %s, "+
		"serial number %s, calibrated under certificate %s, valid until %s.",
		tracedTo, t.StandardName, t.StandardSerial, t.CertificateNo, date(t.DueDate)))

	if conf := c.Conformity; conf != nil {
		r.heading("Statement of conformity")
		r.para(r.conformity(*conf))
	}

	r.need(3 * lineH)
	pdf.Ln(2)
	pdf.SetFont(fontName, "B", bodySize)
	pdf.MultiCell(contentW, lineH, "The results relate only to the item calibrated.", "", "L", false)
	pdf.SetFont(fontName, "", bodySize)
	pdf.MultiCell(contentW, lineH, "This certificate shall not be reproduced except in full without "+
		"the written approval of the laboratory.", "", "L", false)

	r.heading("Authorisation")
	signatory := c.Signatory.Name
	if strings.TrimSpace(c.Signatory.Role) != "" {
		signatory += ", " + c.Signatory.Role
	}
	r.field("Authorised signatory", signatory)
	r.field("Issued", c.IssuedAt.Format("2006-01-02 15:04 -07:00"))

	r.need(2 * rowH)
	pdf.Ln(4)
	pdf.SetFont(fontName, "B", bodySize)
	pdf.CellFormat(contentW, rowH, "*** End of certificate "+r.line(c.Number)+" ***", "", 1, "C", false, 0, "")
}

// conformity is the text of the conformity statement: the decision rule,
// the specification and which results it covers, then the outcome.
func (r *renderer) conformity(conf Conformity) string {
	var b strings.Builder
	switch conf.Rule {
	case RuleSimpleAcceptance:
		b.WriteString("Decision rule: simple acceptance (ILAC-G8:09/2019, guard band w = 0): a result " +
			"conforms when |error| <= MPE.")
	case RuleGuardBand:
		b.WriteString("Decision rule: guard band w = U (ILAC-G8:09/2019, binary): a result conforms when " +
			"|error| <= MPE - U and does not conform otherwise.")
	case RuleJJF1094:
		b.WriteString("Decision rule: JJF 1094-2002: where U <= MPE/3 simple acceptance applies; otherwise " +
			"a result conforms when |error| <= MPE - U, does not conform when |error| >= MPE + U, and " +
			"is undetermined in between.")
	}
	b.WriteString(" Specification: maximum permissible error ±" + unsigned(conf.MPEC) + " °C")
	if s := strings.TrimSpace(conf.Specification); s != "" {
		b.WriteString(" (" + s + ")")
	}
	b.WriteString(".")

	basis, pick := "as-found", func(p Point) Reading { return p.AsFound }
	if conf.Covers == BasisAsLeft {
		basis, pick = "as-left", func(p Point) Reading { return *p.AsLeft }
	}
	n := len(r.c.Results)
	fmt.Fprintf(&b, " This statement covers the %s results at all %d test points listed above.", basis, n)
	var fail, undecided int
	for _, p := range r.c.Results {
		switch pick(p).Verdict {
		case VerdictFail:
			fail++
		case VerdictIndeterminate:
			undecided++
		}
	}
	switch {
	case fail > 0:
		fmt.Fprintf(&b, " Result: the item does not conform to the specification (%d of %d test points fail", fail, n)
		if undecided > 0 {
			fmt.Fprintf(&b, ", %d undetermined", undecided)
		}
		b.WriteString(").")
	case undecided > 0:
		fmt.Fprintf(&b, " Result: conformity is undetermined at %d of %d test points, where the error lies "+
			"within the uncertainty of the limit; the other test points conform.", undecided, n)
	default:
		b.WriteString(" Result: the item conforms to the specification at every test point.")
	}
	return b.String()
}

// table prints the results with a header row that repeats on every page.
func (r *renderer) table(meanLabel string, pick func(Point) Reading) {
	pdf := r.pdf
	withVerdict := r.c.Conformity != nil
	type col struct {
		title string
		w     float64
	}
	cols := []col{
		{"No.", 12}, {"Reference / °C", 30}, {meanLabel + " / °C", 36},
		{"Error / °C", 30}, {"U (k = 2) / °C", 32},
	}
	if withVerdict {
		cols = append(cols, col{"Verdict", 40})
	}
	header := func() {
		pdf.SetFont(fontName, "B", smallSize)
		pdf.SetFillColor(230, 230, 230)
		for _, cl := range cols {
			pdf.CellFormat(cl.w, rowH, r.line(cl.title), "1", 0, "C", true, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont(fontName, "", bodySize)
	}
	r.need(2 * rowH)
	header()
	for i, p := range r.c.Results {
		if pdf.GetY()+rowH > pageH-bottom {
			pdf.AddPage()
			header()
		}
		rd := pick(p)
		cells := []string{strconv.Itoa(i + 1), unsigned(p.ReferenceC), unsigned(rd.MeanC), signed(rd.ErrorC), unsigned(rd.UC)}
		if withVerdict {
			cells = append(cells, string(rd.Verdict))
		}
		for j, s := range cells {
			pdf.CellFormat(cols[j].w, rowH, s, "1", 0, "C", false, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.Ln(2)
}

// field prints a label and a value that may wrap over several lines.
func (r *renderer) field(label, value string) {
	pdf := r.pdf
	r.need(lineH)
	pdf.SetFont(fontName, "B", bodySize)
	pdf.CellFormat(labelW, lineH, r.line(label), "", 0, "L", false, 0, "")
	pdf.SetFont(fontName, "", bodySize)
	pdf.MultiCell(contentW-labelW, lineH, r.text(value), "", "L", false)
}

// heading starts a section, moving it to the next page rather than leaving
// it alone at the bottom of one.
func (r *renderer) heading(s string) {
	pdf := r.pdf
	r.need(4 * lineH)
	pdf.Ln(3)
	pdf.SetFont(fontName, "B", 10)
	pdf.CellFormat(contentW, 6, r.line(s), "", 1, "L", false, 0, "")
	pdf.SetFont(fontName, "", bodySize)
}

func (r *renderer) para(s string) {
	r.pdf.MultiCell(contentW, lineH, r.text(s), "", "L", false)
}

// need starts a new page unless h millimetres fit on this one.
func (r *renderer) need(h float64) {
	if r.pdf.GetY()+h > pageH-bottom {
		r.pdf.AddPage()
	}
}

// text converts UTF-8 to the cp1252 bytes the core fonts use. Runes cp1252
// lacks become '?', control characters spaces; line breaks stay.
func (r *renderer) text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, ch := range s {
		switch {
		case ch == '\n':
			b.WriteByte('\n')
		case ch < 0x20 || ch == 0x7f:
			b.WriteByte(' ')
		case ch < 0x80:
			b.WriteRune(ch)
		default:
			b.WriteString(r.glyph(ch))
		}
	}
	return b.String()
}

// line is text on one line: line breaks become ", ".
func (r *renderer) line(s string) string {
	parts := strings.Split(r.text(s), "\n")
	kept := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ", ")
}

// glyph is the cp1252 byte for a non-ASCII rune, or "?". fpdf's translator
// prints "." for runes it cannot map; that is turned into '?' here.
func (r *renderer) glyph(ch rune) string {
	if g, ok := r.glyphs[ch]; ok {
		return g
	}
	g := r.tr(string(ch))
	if len(g) != 1 || g == "." {
		g = "?"
	}
	r.glyphs[ch] = g
	return g
}

func date(t time.Time) string { return t.Format(time.DateOnly) }

// unsigned formats a temperature with two decimals, never as "-0.00".
func unsigned(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	if s == "-0.00" {
		return "0.00"
	}
	return s
}

// signed is unsigned with an explicit sign for non-negative values.
func signed(v float64) string {
	s := unsigned(v)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

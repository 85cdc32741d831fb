package certificate

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var (
	streamRe = regexp.MustCompile(`(?s)>>\nstream\n(.*?)\nendstream`)
	tjRe     = regexp.MustCompile(`\(((?:\\.|[^\\)])*)\)\s*Tj`)
)

// pageTexts renders c uncompressed and returns the text printed on each
// page, decoded from cp1252 (only its Latin-1 part is needed here) with
// runs of white space collapsed to one space.
func pageTexts(tb testing.TB, c Certificate) []string {
	tb.Helper()
	out, err := Render(c, Options{Uncompressed: true})
	if err != nil {
		tb.Fatalf("Render: %v", err)
	}
	var pages []string
	for _, s := range streamRe.FindAllSubmatch(out, -1) {
		var words []string
		for _, tj := range tjRe.FindAllSubmatch(s[1], -1) {
			words = append(words, latin1(unescape(tj[1])))
		}
		pages = append(pages, strings.Join(strings.Fields(strings.Join(words, " ")), " "))
	}
	if len(pages) == 0 {
		tb.Fatalf("no page content streams in %d bytes", len(out))
	}
	return pages
}

func unescape(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			i++
			if b[i] == 'r' {
				out = append(out, '\r')
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func TestPDFFraming(t *testing.T) {
	out, err := PDF(sample(5))
	if err != nil {
		t.Fatalf("PDF: %v", err)
	}
	if !bytes.HasPrefix(out, []byte("%PDF-")) {
		t.Errorf("PDF starts with %q, want %%PDF-", out[:min(8, len(out))])
	}
	if !bytes.HasSuffix(bytes.TrimRight(out, "\r\n"), []byte("%%EOF")) {
		t.Errorf("PDF ends with %q, want %%%%EOF", out[max(0, len(out)-8):])
	}
	if !bytes.Contains(out, []byte("/CreationDate (D:20200303013000)")) {
		t.Errorf("PDF lacks the issue time (UTC) as its creation date")
	}
}

func TestPDFDeterministic(t *testing.T) {
	for _, o := range []Options{{}, {Uncompressed: true}} {
		c := adjusted(sample(30))
		first, err := Render(c, o)
		if err != nil {
			t.Fatalf("Render(%+v): %v", o, err)
		}
		for i := range 3 {
			again, err := Render(c, o)
			if err != nil {
				t.Fatalf("Render(%+v) #%d: %v", o, i+2, err)
			}
			if !bytes.Equal(first, again) {
				t.Fatalf("Render(%+v) #%d differs from the first render (%d vs %d bytes)", o, i+2, len(again), len(first))
			}
		}
	}
}

func TestPDFContent(t *testing.T) {
	c := sample(5)
	pages := pageTexts(t, c)
	all := strings.Join(pages, " ")
	for i, p := range pages {
		if !strings.Contains(p, "No. "+c.Number) {
			t.Errorf("page %d lacks the certificate number: %q", i+1, p)
		}
		if want := fmt.Sprintf("page %d of %d", i+1, len(pages)); !strings.Contains(p, want) {
			t.Errorf("page %d lacks %q", i+1, want)
		}
		if !strings.Contains(p, Title) {
			t.Errorf("page %d lacks the title", i+1)
		}
	}
	if last := pages[len(pages)-1]; !strings.Contains(last, "*** End of certificate "+c.Number+" ***") {
		t.Errorf("last page lacks the end marker: %q", last)
	}
	want := []string{
		"Calibd Metrology Lab", "1 Test Road, Haidian, Beijing", // header: lab name and address
		"On site: Wanda Plaza (????)", "93 Jianguo Road", // site, Chinese runes as '?'
		"????????????", "(Beijing Wanda Commercial Management)", // customer
		"JJF 1107-2003", "Infrared forehead thermometer", "Acme / IR-100", "SN-4711",
		"entrance B; security desk", "no visible damage",
		"Date of visit 2020-03-02", "Date of calibration 2020-03-02", "Date of issue 2020-03-03",
		"temperature 23.4 °C, relative humidity 46 %",
		"Reference / °C", "As-found mean / °C", "Error / °C", "U (k = 2) / °C", "Verdict",
		"coverage factor k = 2", "approximately 95 %",
		"Blackbody source BB-37", "BB37-0042", "NIM-T-2019-8812", "valid until 2020-09-30",
		"traceable to " + DefaultTracedTo,
		"Decision rule: JJF 1094-2002", "maximum permissible error ±0.30 °C (JJF 1107-2003)",
		"covers the as-found results at all 5 test points",
		"the item conforms to the specification",
		"The results relate only to the item calibrated.",
		"Authorised signatory Li Wei, Technical manager", "Issued 2020-03-03 09:30 +08:00",
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("certificate text lacks %q", w)
		}
	}
	for i, p := range c.Results {
		row := fmt.Sprintf("%d %s %s %s %s pass", i+1, unsigned(p.ReferenceC), unsigned(p.AsFound.MeanC),
			signed(p.AsFound.ErrorC), unsigned(p.AsFound.UC))
		if !strings.Contains(all, row) {
			t.Errorf("certificate text lacks result row %q", row)
		}
	}
	for _, w := range []string{"-0.10", "-0.05", "+0.00", "+0.05", "+0.10", "35.00", "36.00"} {
		if !strings.Contains(all, w) {
			t.Errorf("certificate text lacks value %q", w)
		}
	}
	if strings.Contains(all, "As-left") || strings.Contains(all, "replaces certificate") {
		t.Errorf("unadjusted original certificate mentions as-left results or a replacement")
	}
}

func TestPDFManyPointsPaginate(t *testing.T) {
	c := sample(30)
	pages := pageTexts(t, c)
	if len(pages) != 2 {
		t.Fatalf("30 points render %d pages, want 2", len(pages))
	}
	p2 := pages[1]
	for _, w := range []string{"No. " + c.Number, "page 2 of 2", "Reference / °C", "*** End of certificate"} {
		if !strings.Contains(p2, w) {
			t.Errorf("page 2 lacks %q: %q", w, p2)
		}
	}
	if !strings.Contains(pages[0], "page 1 of 2") {
		t.Errorf("page 1 lacks %q", "page 1 of 2")
	}
	all := strings.Join(pages, " ")
	for i := range c.Results {
		if !strings.Contains(all, fmt.Sprintf(" %d %s ", i+1, unsigned(c.Results[i].ReferenceC))) {
			t.Errorf("row %d missing", i+1)
		}
	}
}

func TestPDFAdjustedAndRevised(t *testing.T) {
	c := adjusted(sample(4))
	c.Site = nil
	c.Revision = &Revision{Replaces: "CAL-2020-000122", Reason: "serial number misprinted"}
	all := strings.Join(pageTexts(t, c), " ")
	for _, w := range []string{
		"this certificate replaces certificate CAL-2020-000122", "Reason: serial number misprinted",
		"At the laboratory", "Date of receipt 2020-03-02",
		"Results before adjustment (as found)", "Results after adjustment (as left)",
		"As-left mean / °C", "Emissivity offset corrected by -0.20 °C.",
		"covers the as-left results at all 4 test points",
		fmt.Sprintf("1 %s %s +0.01 0.08 pass", unsigned(c.Results[0].ReferenceC), unsigned(c.Results[0].AsLeft.MeanC)),
	} {
		if !strings.Contains(all, w) {
			t.Errorf("certificate text lacks %q", w)
		}
	}
}

func TestPDFConformityOutcomes(t *testing.T) {
	c := sample(3)
	c.Conformity.Rule = RuleSimpleAcceptance
	c.Results[1].AsFound.ErrorC = 0.5
	c.Results[1].AsFound.MeanC = c.Results[1].ReferenceC + 0.5
	c.Results[1].AsFound.Verdict = VerdictFail
	all := strings.Join(pageTexts(t, c), " ")
	for _, w := range []string{"Decision rule: simple acceptance", "does not conform to the specification (1 of 3 test points fail)", "+0.50 0.08 fail"} {
		if !strings.Contains(all, w) {
			t.Errorf("certificate text lacks %q", w)
		}
	}

	c = sample(3)
	c.Conformity = nil
	for i := range c.Results {
		c.Results[i].AsFound.Verdict = ""
	}
	all = strings.Join(pageTexts(t, c), " ")
	if strings.Contains(all, "Statement of conformity") || strings.Contains(all, "Verdict") {
		t.Errorf("certificate without conformity statement prints one")
	}
}

func TestTextEncoding(t *testing.T) {
	r := &renderer{tr: func(s string) string {
		switch s {
		case "°":
			return "\xb0"
		case "é":
			return "\xe9"
		}
		return "."
	}, glyphs: map[rune]string{}}
	tests := []struct{ in, want string }{
		{"36.5 °C", "36.5 \xb0C"},
		{"Café 商场", "Caf\xe9 ??"},
		{"a\tb\r\nc\x00", "a b\nc "},
		{"bad \xff utf8", "bad ? utf8"},
	}
	for _, tt := range tests {
		if got := r.text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := r.line(" A \n\n B \n"), "A, B"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

package kb

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Record is one article in the import/export format: the columns
// question, similar_questions, answer, category, tags. Similar questions and
// tags are separated by "|" in a cell; a category is a path such as
// "宽带/故障".
type Record struct {
	// Row is the 1-based row number in the file (the header is row 1).
	Row      int      `json:"row"`
	Question string   `json:"question"`
	Similar  []string `json:"similar_questions"`
	Answer   string   `json:"answer"`
	Category string   `json:"category"`
	Tags     []string `json:"tags"`
}

// RowError says why a row of an import file was rejected.
type RowError struct {
	Row    int    `json:"row"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
	}
	return fmt.Sprintf("row %d: %s: %s", e.Row, e.Field, e.Reason)
}

// Columns of the import/export format, in order.
var Columns = []string{"question", "similar_questions", "answer", "category", "tags"}

// header aliases accepted on import (lower-cased), so files exported from
// other systems or written by hand in Chinese import too.
var headerAliases = map[string]string{
	"question": "question", "问题": "question", "标准问题": "question", "标准问": "question",
	"similar_questions": "similar_questions", "similar": "similar_questions", "相似问法": "similar_questions", "相似问题": "similar_questions",
	"answer": "answer", "答案": "answer", "回答": "answer",
	"category": "category", "分类": "category", "类别": "category", "目录": "category",
	"tags": "tags", "tag": "tags", "标签": "tags",
}

// Limits enforced on import and on edits.
const (
	MaxQuestionLen   = 200   // runes
	MaxAnswerLen     = 20000 // runes
	MaxSimilar       = 50
	MaxTags          = 20
	MaxTagLen        = 32 // runes
	MaxCategoryLen   = 100
	MaxCategoryDepth = 5
	// MaxImportRows caps one import file.
	MaxImportRows = 50000
)

// ErrTooManyRows is returned when an import file has more than MaxImportRows
// data rows.
var ErrTooManyRows = fmt.Errorf("kb: import file has more than %d rows", MaxImportRows)

// ParseCSV reads an import file in CSV. The first row is a header when it
// names the columns (English or Chinese names, any order); otherwise the
// columns are taken in the order of Columns. UTF-8 (with or without BOM) and
// GB18030/GBK, as saved by Excel on Chinese Windows, are both accepted. Rows
// that fail validation are returned as RowErrors and never stop the good
// rows; a file that cannot be read at all returns an error.
func ParseCSV(r io.Reader) ([]Record, []RowError, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		if dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data); err == nil {
			data = dec
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var rows [][]string
	var nums []int
	// Row numbers are spreadsheet rows: encoding/csv skips blank lines and
	// a quoted cell may span lines, so count from line positions.
	row, endLine := 0, 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("csv line %d: %w", pe.Line, pe.Err)
			}
			return nil, nil, fmt.Errorf("read csv: %w", err)
		}
		start, _ := cr.FieldPos(0)
		row += 1 + max(0, start-endLine-1)
		last, _ := cr.FieldPos(len(rec) - 1)
		endLine = last + strings.Count(rec[len(rec)-1], "\n")
		rows = append(rows, rec)
		nums = append(nums, row)
	}
	return parseRows(rows, nums)
}

// maxXLSXUnzipped caps the inflated size of an XLSX import.
const maxXLSXUnzipped = 256 << 20

// ParseXLSX reads an import file in XLSX: the first sheet, same layout as
// ParseCSV.
func ParseXLSX(r io.Reader) ([]Record, []RowError, error) {
	// An upload is compressed: cap what it may inflate to (excelize's
	// default is 16 GB), so a zip bomb fails instead of filling memory.
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: maxXLSXUnzipped})
	if err != nil {
		return nil, nil, fmt.Errorf("open xlsx: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, errors.New("open xlsx: no sheet")
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		return nil, nil, fmt.Errorf("read xlsx: %w", err)
	}
	return parseRows(rows, nil)
}

// parseRows validates rows; nums gives each row's number in the file (nil:
// the index plus one).
func parseRows(rows [][]string, nums []int) ([]Record, []RowError, error) {
	if len(rows) > MaxImportRows+1 {
		return nil, nil, ErrTooManyRows
	}
	cols := map[string]int{}
	first := 0
	if len(rows) > 0 {
		for i, h := range rows[0] {
			if name, ok := headerAliases[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))]; ok {
				if _, dup := cols[name]; !dup {
					cols[name] = i
				}
			}
		}
		if _, ok := cols["question"]; ok {
			first = 1
		} else {
			cols = map[string]int{}
		}
	}
	if first == 0 {
		for i, c := range Columns {
			cols[c] = i
		}
	}
	var recs []Record
	var bad []RowError
	seen := map[string]int{} // normalised question -> row
	for i := first; i < len(rows); i++ {
		row := rows[i]
		n := i + 1
		if nums != nil {
			n = nums[i]
		}
		if blank(row) {
			continue
		}
		cell := func(name string) string {
			if j, ok := cols[name]; ok && j < len(row) {
				return row[j]
			}
			return ""
		}
		if _, ok := cols["answer"]; ok && first == 0 && len(row) < 3 {
			bad = append(bad, RowError{Row: n, Reason: fmt.Sprintf("expected %d columns (%s), got %d", len(Columns), strings.Join(Columns, ", "), len(row))})
			continue
		}
		rec := Record{
			Row:      n,
			Question: cell("question"),
			Similar:  SplitList(cell("similar_questions")),
			Answer:   cell("answer"),
			Category: cell("category"),
			Tags:     SplitList(cell("tags")),
		}
		if err := rec.Normalize(); err != nil {
			var re *RowError
			if errors.As(err, &re) {
				re.Row = n
				bad = append(bad, *re)
				continue
			}
			bad = append(bad, RowError{Row: n, Reason: err.Error()})
			continue
		}
		key := questionKey(rec.Question)
		if prev, dup := seen[key]; dup {
			bad = append(bad, RowError{Row: n, Field: "question", Reason: fmt.Sprintf("duplicate of row %d", prev)})
			continue
		}
		seen[key] = n
		recs = append(recs, rec)
	}
	return recs, bad, nil
}

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// SplitList splits a cell of "|"-separated values (full-width "｜" too),
// trimming blanks and dropping empty and repeated entries.
func SplitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == '｜' || r == '\n' })
	out := make([]string, 0, len(parts))
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// questionKey is the identity of a question for duplicate detection: case,
// width and spacing do not matter.
func questionKey(q string) string {
	return strings.ToLower(strings.Join(strings.Fields(q), " "))
}

// Normalize trims and validates the record in place. It returns a *RowError
// naming the bad field (with Row left as is).
func (r *Record) Normalize() error {
	fail := func(field, reason string) error { return &RowError{Row: r.Row, Field: field, Reason: reason} }
	r.Question = strings.TrimSpace(r.Question)
	r.Answer = strings.TrimSpace(r.Answer)
	switch {
	case r.Question == "":
		return fail("question", "is empty")
	case utf8.RuneCountInString(r.Question) > MaxQuestionLen:
		return fail("question", fmt.Sprintf("longer than %d characters", MaxQuestionLen))
	case r.Answer == "":
		return fail("answer", "is empty")
	case utf8.RuneCountInString(r.Answer) > MaxAnswerLen:
		return fail("answer", fmt.Sprintf("longer than %d characters", MaxAnswerLen))
	}
	sim := r.Similar[:0:0]
	qk := questionKey(r.Question)
	for _, s := range r.Similar {
		s = strings.TrimSpace(s)
		if s == "" || questionKey(s) == qk {
			continue
		}
		if utf8.RuneCountInString(s) > MaxQuestionLen {
			return fail("similar_questions", fmt.Sprintf("%q is longer than %d characters", truncate(s, 20), MaxQuestionLen))
		}
		sim = append(sim, s)
	}
	if len(sim) > MaxSimilar {
		return fail("similar_questions", fmt.Sprintf("more than %d similar questions", MaxSimilar))
	}
	r.Similar = sim
	cat, err := NormalizeCategory(r.Category)
	if err != nil {
		return fail("category", err.Error())
	}
	r.Category = cat
	if len(r.Tags) > MaxTags {
		return fail("tags", fmt.Sprintf("more than %d tags", MaxTags))
	}
	tags := r.Tags[:0:0]
	for _, t := range r.Tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > MaxTagLen {
			return fail("tags", fmt.Sprintf("%q is longer than %d characters", truncate(t, 20), MaxTagLen))
		}
		tags = append(tags, t)
	}
	r.Tags = tags
	return nil
}

// NormalizeCategory cleans a category path: segments separated by "/" (or
// "／", ">"), trimmed, none empty, at most MaxCategoryDepth deep.
func NormalizeCategory(c string) (string, error) {
	c = strings.TrimSpace(c)
	if c == "" {
		return "", nil
	}
	parts := strings.FieldsFunc(c, func(r rune) bool { return r == '/' || r == '／' || r == '>' })
	raw := strings.Count(c, "/") + strings.Count(c, "／") + strings.Count(c, ">") + 1
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
		if parts[i] == "" {
			return "", errors.New("has an empty level")
		}
	}
	if len(parts) != raw {
		return "", errors.New("has an empty level")
	}
	if len(parts) > MaxCategoryDepth {
		return "", fmt.Errorf("deeper than %d levels", MaxCategoryDepth)
	}
	out := strings.Join(parts, "/")
	if utf8.RuneCountInString(out) > MaxCategoryLen {
		return "", fmt.Errorf("longer than %d characters", MaxCategoryLen)
	}
	return out, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func (r *Record) cells() []string {
	return []string{r.Question, strings.Join(r.Similar, "|"), r.Answer, r.Category, strings.Join(r.Tags, "|")}
}

// recordWriter writes records in the import format one at a time; Finish
// completes the file on w (the CSV writer writes to w as it goes, the XLSX
// one assembles the workbook and writes it then), Close releases it.
type recordWriter interface {
	Write(r *Record) error
	Finish(w io.Writer) error
	Close() error
}

// WriteCSV writes records in the import format, header first, UTF-8 with a
// BOM so that Excel opens Chinese text correctly.
func WriteCSV(w io.Writer, recs []Record) error {
	return writeAll(w, recs, func() (recordWriter, error) { return newCSVWriter(w) })
}

// WriteXLSX writes records in the import format as a one-sheet workbook.
func WriteXLSX(w io.Writer, recs []Record) error {
	return writeAll(w, recs, newXLSXWriter)
}

func writeAll(w io.Writer, recs []Record, open func() (recordWriter, error)) error {
	rw, err := open()
	if err != nil {
		return err
	}
	defer rw.Close()
	for i := range recs {
		if err := rw.Write(&recs[i]); err != nil {
			return err
		}
	}
	return rw.Finish(w)
}

type csvWriter struct{ cw *csv.Writer }

func newCSVWriter(w io.Writer) (recordWriter, error) {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return nil, err
	}
	return &csvWriter{cw: cw}, nil
}

func (c *csvWriter) Write(r *Record) error { return c.cw.Write(r.cells()) }

func (c *csvWriter) Finish(io.Writer) error {
	c.cw.Flush()
	return c.cw.Error()
}

func (c *csvWriter) Close() error { return nil }

type xlsxWriter struct {
	f   *excelize.File
	sw  *excelize.StreamWriter
	row int
}

func newXLSXWriter() (recordWriter, error) {
	f := excelize.NewFile()
	const sheet = "FAQ"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	_ = sw.SetColWidth(1, 2, 40)
	_ = sw.SetColWidth(3, 3, 80)
	_ = sw.SetColWidth(4, 5, 20)
	x := &xlsxWriter{f: f, sw: sw}
	if err := x.cells(Columns); err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

func (x *xlsxWriter) cells(cells []string) error {
	x.row++
	vals := make([]any, len(cells))
	for i, c := range cells {
		vals[i] = c
	}
	cell, _ := excelize.CoordinatesToCellName(1, x.row)
	return x.sw.SetRow(cell, vals)
}

func (x *xlsxWriter) Write(r *Record) error { return x.cells(r.cells()) }

func (x *xlsxWriter) Finish(w io.Writer) error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(w)
	return err
}

func (x *xlsxWriter) Close() error { return x.f.Close() }
